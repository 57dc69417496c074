"""Console forms. They only parse (amounts typed in the currency's main unit become minor units
here through cpms.core.forms.MoneyField; the owner is picked by name within the user's scope);
the services validate details, account numbers and scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import MoneyField, PickerField, clean_money
from cpms.core.money import CURRENCY, format_minor
from cpms.customers.selectors import customer_list
from cpms.holdings.choices import (
    AccountType,
    AssetClass,
    HoldingKind,
    HoldingStatus,
    IntellectualPropertyType,
    LawfulBasis,
    RepaymentMethod,
)
from cpms.holdings.models import MANAGE_PERMISSION


def _date(label: Any, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
    )


# currencies offered in the forms (the services accept any ISO 4217 code: a stored currency
# outside this list is added to the choices of the form that shows it)
CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY", "SGD", "MOP", "TWD", "AUD", "CAD", "CHF")


def currency_choices(*extra: str) -> list[tuple[str, str]]:
    codes = list(CURRENCIES)
    for code in extra:
        code = (code or "").upper()
        if CURRENCY.match(code) and code not in codes:
            codes.append(code)
    return [(code, code) for code in codes]


def _currency(initial: str = "CNY") -> forms.ChoiceField:
    return forms.ChoiceField(label=_("Currency"), choices=currency_choices(), initial=initial)


def customer_label(customer: Any) -> str:
    return f"{customer.legal_name} ({customer.customer_number})"


class MoneyFormMixin:
    """Converts every MoneyField with a `currency_field` with the currency chosen in the form."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if isinstance(field, MoneyField) and field.currency_field:
                clean_money(self, name)  # type: ignore[arg-type]
        return cleaned


class HoldingForm(MoneyFormMixin, forms.Form):
    customer = PickerField(
        "customer",
        label=_("Customer"),
        placeholder=_("Type the customer's name, pinyin or customer number"),
    )
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=120,
        required=False,
        help_text=_("Contract, certificate or serial number. Accounts: leave empty."),
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    currency = _currency()
    value = MoneyField(
        label=_("Value"),
        currency_field="currency",
        allow_zero=True,
        required=False,
        help_text=_("In the currency's main unit, e.g. 800,000.00."),
    )
    valued_on = _date(_("Valuation date"))
    location = forms.CharField(label=_("Location"), max_length=120, required=False)

    def __init__(self, *args: Any, editing: bool = False, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("customer", "identifier", "value", "currency", "valued_on"):
                del self.fields[name]
            return
        field = self.fields["customer"]
        field.queryset = customer_list(user=user, permission=MANAGE_PERMISSION)
        field.label_from_instance = customer_label  # type: ignore[method-assign]
        field.set_extra(permission=MANAGE_PERMISSION)

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        value = data.pop("value", None)
        if "currency" in data:
            data["value_minor"] = value
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


class LoanForm(MoneyFormMixin, forms.Form):
    currency = _currency()
    principal = MoneyField(label=_("Principal"), currency_field="currency")
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
        data["principal_minor"] = data.pop("principal")
    if kind == HoldingKind.ACCOUNT and editing and not data.get("number"):
        data.pop("number", None)
    return data


def details_initial(kind: str, details: dict[str, Any] | None) -> dict[str, Any]:
    initial = dict(details or {})
    if kind == HoldingKind.LOAN and "principal_minor" in initial:
        initial["principal"] = format_minor(
            initial.pop("principal_minor"), initial.get("currency", ""), code=False
        )
    initial.pop("number", None)
    return initial


class RevalueForm(MoneyFormMixin, forms.Form):
    currency = _currency()
    value = MoneyField(label=_("Value"), currency_field="currency", allow_zero=True)
    valued_on = _date(_("Valuation date"), required=True)
    source = forms.CharField(label=_("Source"), max_length=80, required=False)

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = currency_choices(currency)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=HoldingStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class PositionForm(MoneyFormMixin, forms.Form):
    instrument_code = forms.CharField(label=_("Instrument code"), max_length=40)
    instrument_name = forms.CharField(label=_("Instrument name"), max_length=200, required=False)
    asset_class = forms.ChoiceField(label=_("Asset class"), choices=AssetClass.choices)
    quantity = forms.DecimalField(label=_("Quantity"), min_value=0, max_digits=24, decimal_places=8)
    currency = _currency()
    cost = MoneyField(label=_("Cost"), currency_field="currency", allow_zero=True)

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["cost_minor"] = data.pop("cost")
        return data


class PriceImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    source = forms.CharField(label=_("Source"), max_length=80, required=False, initial="import")
