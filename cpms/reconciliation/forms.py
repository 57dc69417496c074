"""Console forms: statement upload, a user-defined CSV profile (fields = CsvProfile) and the
filters of one side of the reconciliation workspace."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.money import AmountError, parse_major
from cpms.reconciliation.formats import FORMATS
from cpms.reconciliation.selectors import SideFilter

LIST_FIELDS = (
    "encodings",
    "header_contains",
    "date_formats",
    "reference_columns",
    "description_columns",
    "counterparty_columns",
    "counterparty_account_columns",
    "direction_in",
    "direction_out",
    "footer_markers",
)
TEXT_FIELDS = (
    "name",
    "label",
    "delimiter",
    "date_column",
    "amount_column",
    "debit_column",
    "credit_column",
    "currency_column",
    "default_currency",
    "balance_column",
    "bank_code_column",
    "account_column",
    "direction_column",
)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Statement file"))
    format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("Detect"))] + [(code, code) for code in FORMATS],
    )
    profile = forms.CharField(label=_("CSV profile"), required=False, max_length=64)
    account = forms.CharField(
        label=_("Bank account (ledger code)"),
        required=False,
        max_length=64,
        help_text=_("Leave empty to find it by the account identifier in the file."),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    label = forms.CharField(label=_("Label"), max_length=200)
    encodings = forms.CharField(label=_("Encodings"), initial="utf-8-sig, gb18030")
    delimiter = forms.CharField(label=_("Delimiter"), initial=",", strip=False, max_length=4)
    header_contains = forms.CharField(
        label=_("Header columns"), help_text=_("Column names that identify the header row.")
    )
    date_column = forms.CharField(label=_("Date column"))
    date_formats = forms.CharField(label=_("Date formats"), initial="%Y-%m-%d")
    amount_column = forms.CharField(label=_("Signed amount column"), required=False)
    debit_column = forms.CharField(label=_("Debit (money out) column"), required=False)
    credit_column = forms.CharField(label=_("Credit (money in) column"), required=False)
    currency_column = forms.CharField(label=_("Currency column"), required=False)
    default_currency = forms.CharField(label=_("Default currency"), initial="CNY")
    currency_aliases = forms.CharField(
        label=_("Currency aliases"),
        required=False,
        help_text=_("One per line: text=ISO code, e.g. 人民币=CNY."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    balance_column = forms.CharField(label=_("Running balance column"), required=False)
    reference_columns = forms.CharField(label=_("Reference columns"), required=False)
    description_columns = forms.CharField(label=_("Description columns"), required=False)
    counterparty_columns = forms.CharField(label=_("Counterparty columns"), required=False)
    counterparty_account_columns = forms.CharField(
        label=_("Counterparty account columns"), required=False
    )
    bank_code_column = forms.CharField(label=_("Transaction type column"), required=False)
    account_column = forms.CharField(label=_("Account column"), required=False)
    direction_column = forms.CharField(
        label=_("Direction column"),
        required=False,
        help_text=_("For an unsigned amount: the column that says money in or out, e.g. 收/支."),
    )
    direction_in = forms.CharField(
        label=_("Money-in values"), required=False, help_text=_("e.g. 收入, 贷")
    )
    direction_out = forms.CharField(
        label=_("Money-out values"), required=False, help_text=_("e.g. 支出, 借")
    )
    skip_rows = forms.CharField(
        label=_("Rows to skip"),
        required=False,
        help_text=_("One rule per line: column=value|value, e.g. 收/支=不计收支|中性交易."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    footer_markers = forms.CharField(
        label=_("Footer markers"),
        required=False,
        help_text=_("A row whose first cell starts with one of these ends the table, e.g. 合计."),
    )

    def profile_data(self) -> dict[str, Any]:
        """The cleaned form as a CsvProfile dict (lists are comma-separated)."""
        data: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            value = self.cleaned_data.get(name) or ""
            data[name] = value if value or name in ("name", "label", "delimiter") else None
        data["label"] = self.cleaned_data.get("label") or ""
        data["default_currency"] = self.cleaned_data.get("default_currency") or "CNY"
        for name in LIST_FIELDS:
            text = self.cleaned_data.get(name) or ""
            data[name] = [part.strip() for part in text.split(",") if part.strip()]
        aliases = {}
        for row in (self.cleaned_data.get("currency_aliases") or "").splitlines():
            if "=" in row:
                key, value = row.split("=", 1)
                aliases[key.strip()] = value.strip()
        data["currency_aliases"] = aliases
        skip: dict[str, list[str]] = {}
        for row in (self.cleaned_data.get("skip_rows") or "").splitlines():
            if "=" in row:
                column, values = row.split("=", 1)
                skip[column.strip()] = [value.strip() for value in values.split("|")]
        data["skip_rows"] = skip
        return data


class SideFilterForm(forms.Form):
    """The filters of one side of the workspace (prefix "l" for statement lines, "t" for
    ledger transfers): date range, amount in the account's main unit (a typed sign narrows to
    that direction), text in the reference (lines: also narrative and counterparty)."""

    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.CharField(
        label=_("Amount"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    q = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> tuple[int, bool] | None:
        text = (self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        try:
            minor = parse_major(text, self.currency, allow_negative=True)
        except AmountError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        return minor, text.startswith(("-", "+", "\uff0d", "\uff0b"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        return data

    def side(self) -> SideFilter:
        """The valid filters (an invalid field is left out, its error shown on the form)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        amount = data.get("amount")
        return SideFilter(
            date_from=data.get("start") if "end" not in self.errors else None,
            date_to=data.get("end") if "end" not in self.errors else None,
            amount_minor=amount[0] if amount else None,
            signed=amount[1] if amount else False,
            text=(data.get("q") or "").strip(),
        )
