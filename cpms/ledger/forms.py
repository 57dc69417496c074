"""Console forms of the ledger. Accounts and customers are picked by name (type-ahead pickers
scoped like the lists: an account out of scope is refused exactly like a missing one); amounts
are typed in the asset's main unit and converted exactly to minor units with its decimals. The
services validate the rules and the scope again."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import MoneyField, PickerField
from cpms.core.money import AmountError, parse_major
from cpms.customers import selectors as customer_selectors
from cpms.ledger import display
from cpms.ledger.choices import AccountKind, AccountPurpose, TransferKind
from cpms.ledger.models import POST_PERMISSION, VIEW_PERMISSION
from cpms.ledger.pickers import KIND, picker_queryset


class AccountPickerField(PickerField):
    """A ledger account picked by its customer's name and its purpose (or an internal
    account by its name): the label shows "张三 · Customer money · CNY", never a code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("placeholder", _("Type a customer name or an account name"))
        super().__init__(KIND, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return display.account_label(obj)


def _scope_account_field(field: AccountPickerField, user: Any, permission: str) -> None:
    field.queryset = picker_queryset(user, permission)
    field.set_extra(permission=permission)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer or account name"), max_length=64, required=False)
    customer = PickerField("customer", label=_("Customer"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *AccountKind.choices], required=False
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=[("", _("Any purpose")), *AccountPurpose.choices],
        required=False,
    )
    asset = forms.CharField(label=_("Asset"), max_length=24, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        field.queryset = customer_selectors.customer_list(user=user, permission=VIEW_PERMISSION)
        field.set_extra(permission=VIEW_PERMISSION)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        customer = data.pop("customer", None)
        if customer is not None:
            data["customer_id"] = customer.pk
        return data


class TransferFilterForm(forms.Form):
    account = AccountPickerField(label=_("Account"), required=False)
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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _scope_account_field(self.fields["account"], user, VIEW_PERMISSION)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        account = data.pop("account", None)
        if account is not None:
            data["account_id"] = account.pk
        return data


class TransferForm(forms.Form):
    """Post a transfer (or place a hold): both accounts picked by name, the amount typed in
    the asset's main unit ("1,250.50"; points in whole points). The one-time key is a hidden
    field: submitting the same rendered form twice posts once."""

    debit_account = AccountPickerField(
        label=_("From account (debit)"),
        help_text=_("Type the customer's name, or the name of an internal account."),
    )
    credit_account = AccountPickerField(
        label=_("To account (credit)"),
        help_text=_("Type the customer's name, or the name of an internal account."),
    )
    amount = MoneyField(
        label=_("Amount"),
        currency_field="debit_account",
        help_text=_("In the account's currency, e.g. 1,250.50 (points: whole points)."),
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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("debit_account", "credit_account"):
            _scope_account_field(self.fields[name], user, POST_PERMISSION)

    @staticmethod
    def new_key() -> str:
        return f"console:{uuid.uuid4().hex}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        debit, credit = data.get("debit_account"), data.get("credit_account")
        if debit is not None and credit is not None:
            if debit.pk == credit.pk:
                self.add_error(
                    "credit_account", _("Choose another account: the two sides must differ.")
                )
            elif debit.asset_id != credit.asset_id:
                self.add_error(
                    "credit_account",
                    _("This account holds %(other)s; the debit account holds %(asset)s.")
                    % {"other": credit.asset.code, "asset": debit.asset.code},
                )
        text = data.get("amount")
        if debit is not None and text is not None:
            try:
                data["amount"] = parse_major(
                    str(text), debit.asset.code, places=debit.asset.exponent
                )
            except AmountError as error:
                self.add_error("amount", forms.ValidationError(error.message, code=error.code))
        elif text is not None:
            data.pop("amount", None)
        return data


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
