"""Console forms. They only parse (amounts in major units become minor units here); the
services validate details, account numbers and scope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.holdings.choices import (
    AccountType,
    AssetClass,
    HoldingKind,
    HoldingStatus,
    IntellectualPropertyType,
    LawfulBasis,
    RepaymentMethod,
)
from cpms.holdings.money import to_minor


def _date(label: Any, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
    )


def _currency() -> forms.CharField:
    return forms.CharField(label=_("Currency"), max_length=3, initial="CNY")


class HoldingForm(forms.Form):
    customer_number = forms.CharField(label=_("Customer number"), max_length=40)
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=120,
        required=False,
        help_text=_("Contract, certificate or serial number. Accounts: leave empty."),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    value = forms.DecimalField(
        label=_("Value"), required=False, min_value=0, max_digits=18, decimal_places=3
    )
    currency = _currency()
    valued_on = _date(_("Valuation date"))
    location = forms.CharField(label=_("Location"), max_length=120, required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("customer_number", "identifier", "value", "currency", "valued_on"):
                del self.fields[name]

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        value = data.pop("value", None)
        if "currency" in data:
            data["currency"] = (data["currency"] or "").strip().upper()
            data["value_minor"] = None if value is None else to_minor(value, data["currency"])
        return data


class AccountForm(forms.Form):
    account_type = forms.ChoiceField(label=_("Account type"), choices=AccountType.choices)
    institution = forms.CharField(label=_("Institution"), max_length=200)
    number = forms.CharField(
        label=_("Account or card number"),
        max_length=64,
        help_text=_("IBAN or card / account digits. Stored encrypted; shown masked."),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["number"].required = False
            self.fields["number"].help_text = _(
                "Stored encrypted and not shown here; leave empty to keep it."
            )


class LoanForm(forms.Form):
    principal = forms.DecimalField(
        label=_("Principal"), min_value=Decimal("0.01"), max_digits=18, decimal_places=3
    )
    currency = _currency()
    annual_rate_percent = forms.DecimalField(
        label=_("Annual rate (%)"), min_value=0, max_value=100, max_digits=9, decimal_places=6
    )
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=600)
    method = forms.ChoiceField(label=_("Repayment method"), choices=RepaymentMethod.choices)
    start_date = _date(_("Start date"), required=True)


class MembershipForm(forms.Form):
    programme = forms.CharField(label=_("Programme"), max_length=120)
    member_number = forms.CharField(label=_("Member number"), max_length=60)
    tier = forms.CharField(label=_("Tier"), max_length=60, required=False)
    joined_on = _date(_("Joined on"))


class IntellectualPropertyForm(forms.Form):
    ip_type = forms.ChoiceField(label=_("Type"), choices=IntellectualPropertyType.choices)
    registration_number = forms.CharField(label=_("Registration number"), max_length=80)
    jurisdiction = forms.CharField(label=_("Jurisdiction"), max_length=60)
    expires_on = _date(_("Expires on"))


class ContractForm(forms.Form):
    contract_number = forms.CharField(label=_("Contract number"), max_length=80)
    counterparty = forms.CharField(label=_("Counterparty"), max_length=200)
    signed_on = _date(_("Signed on"))
    expires_on = _date(_("Expires on"))


class DataAssetForm(forms.Form):
    category = forms.CharField(label=_("Category"), max_length=120)
    system = forms.CharField(label=_("System"), max_length=120)
    record_count = forms.IntegerField(label=_("Record count"), min_value=0, initial=0)
    lawful_basis = forms.ChoiceField(label=_("Lawful basis"), choices=LawfulBasis.choices)
    retention_until = _date(_("Retained until"))


DETAIL_FORMS: dict[str, type[forms.Form]] = {
    HoldingKind.ACCOUNT: AccountForm,
    HoldingKind.LOAN: LoanForm,
    HoldingKind.MEMBERSHIP: MembershipForm,
    HoldingKind.INTELLECTUAL_PROPERTY: IntellectualPropertyForm,
    HoldingKind.CONTRACT: ContractForm,
    HoldingKind.DATA_ASSET: DataAssetForm,
}


def details_for_service(kind: str, form: forms.Form, *, editing: bool = False) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    if kind == HoldingKind.LOAN:
        data["currency"] = (data.get("currency") or "").strip().upper()
        data["principal_minor"] = to_minor(data.pop("principal"), data["currency"])
    if kind == HoldingKind.ACCOUNT and editing and not data.get("number"):
        data.pop("number", None)
    return data


def details_initial(kind: str, details: dict[str, Any] | None) -> dict[str, Any]:
    initial = dict(details or {})
    if kind == HoldingKind.LOAN and "principal_minor" in initial:
        from cpms.holdings.money import to_major

        initial["principal"] = to_major(initial.pop("principal_minor"), initial["currency"])
    initial.pop("number", None)
    return initial


class RevalueForm(forms.Form):
    value = forms.DecimalField(label=_("Value"), min_value=0, max_digits=18, decimal_places=3)
    currency = _currency()
    valued_on = _date(_("Valuation date"), required=True)
    source = forms.CharField(label=_("Source"), max_length=80, required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=HoldingStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class PositionForm(forms.Form):
    instrument_code = forms.CharField(label=_("Instrument code"), max_length=40)
    instrument_name = forms.CharField(label=_("Instrument name"), max_length=200, required=False)
    asset_class = forms.ChoiceField(label=_("Asset class"), choices=AssetClass.choices)
    quantity = forms.DecimalField(label=_("Quantity"), min_value=0, max_digits=24, decimal_places=8)
    cost = forms.DecimalField(label=_("Cost"), min_value=0, max_digits=18, decimal_places=3)
    currency = _currency()

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["currency"] = (data["currency"] or "").strip().upper()
        data["cost_minor"] = to_minor(data.pop("cost"), data["currency"])
        return data


class PriceImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    source = forms.CharField(label=_("Source"), max_length=80, required=False, initial="import")
