"""Console forms of the ledger. They parse (amounts typed in major units, converted exactly to
minor units with the asset's decimals); the services validate the rules and the scope."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.ledger.choices import AccountKind, AccountPurpose, TransferKind


def parse_amount(text: str, exponent: int) -> int:
    """'1,234.5' with exponent 2 -> 123450. Raises ValueError when the text is not a positive
    amount with at most `exponent` decimals."""
    cleaned = (text or "").strip().replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(cleaned) from None
    if not value.is_finite() or value <= 0:
        raise ValueError(cleaned)
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(cleaned)
    return int(minor)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), max_length=64, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *AccountKind.choices], required=False
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=[("", _("Any purpose")), *AccountPurpose.choices],
        required=False,
    )
    asset = forms.CharField(label=_("Asset"), max_length=24, required=False)
    customer_id = forms.IntegerField(label=_("Customer id"), min_value=1, required=False)


class TransferFilterForm(forms.Form):
    account = forms.CharField(label=_("Account id or code"), max_length=64, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *TransferKind.choices], required=False
    )
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class TransferForm(forms.Form):
    debit_account = forms.CharField(
        label=_("Debit account"), max_length=64, help_text=_("Account id or code.")
    )
    credit_account = forms.CharField(
        label=_("Credit account"), max_length=64, help_text=_("Account id or code.")
    )
    amount = forms.CharField(
        label=_("Amount"), max_length=32, help_text=_("In the asset's units, e.g. 1250.00")
    )
    reference = forms.CharField(label=_("Reference"), max_length=140, required=False)
    value_date = forms.DateField(
        label=_("Value date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: today."),
    )
    pending = forms.BooleanField(
        label=_("Hold only (reserve the funds, post or void later)"), required=False
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        help_text=_("Shown to the approver when the amount needs approval."),
    )
    # one key per rendered form: submitting twice posts once
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=80)

    @staticmethod
    def new_key() -> str:
        return f"console:{uuid.uuid4().hex}"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class PeriodCloseForm(forms.Form):
    through = forms.DateField(
        label=_("Close the books through"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class StatementForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
