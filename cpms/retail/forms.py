"""Console forms. They parse (money typed in major units, converted exactly to minor units);
the services validate the rules and the scope."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import PickerField
from cpms.core.money import parse_major
from cpms.customers.selectors import customer_list
from cpms.retail.choices import Channel, ReturnKind, ReturnReason
from cpms.retail.models import MANAGE_PERMISSION

LINE_ROWS = 5


def _minor(form: forms.Form, name: str, currency: str) -> int | None:
    text = (form.cleaned_data.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_major(text, currency, allow_zero=True)  # a free line is a price
    except ValueError:
        form.add_error(name, _("Give an amount such as 12.50."))
        return None


class PurchaseForm(forms.Form):
    customer = PickerField(
        "customer", label=_("Customer"), placeholder=_("Name, pinyin, customer or ID number")
    )
    reference = forms.CharField(label=_("Receipt number"), max_length=60)
    purchased_at = forms.DateTimeField(
        label=_("Purchased at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    store_code = forms.CharField(
        label=_("Store code"), max_length=20, required=False, help_text=_("Required for a store.")
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    total = forms.CharField(label=_("Total"), max_length=20, help_text=_("E.g. 199.00"))
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["customer"]
        field.queryset = customer_list(user=user, permission=MANAGE_PERMISSION)
        field.set_extra(permission=MANAGE_PERMISSION)

    def total_minor(self) -> int | None:
        return _minor(self, "total", (self.cleaned_data.get("currency") or "CNY").upper())


class PurchaseLineForm(forms.Form):
    category = forms.CharField(label=_("Category"), max_length=60, required=False)
    sku = forms.CharField(label=_("SKU"), max_length=60, required=False)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, required=False)
    unit_price = forms.CharField(label=_("Unit price"), max_length=20, required=False)
    amount = forms.CharField(
        label=_("Amount"), max_length=20, required=False, help_text=_("Empty: quantity × price.")
    )

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not any(data.get(name) for name in ("category", "sku", "description", "unit_price"))

    def line_data(self, currency: str) -> dict[str, Any]:
        data = self.cleaned_data
        for name in ("category", "quantity", "unit_price"):
            if not data.get(name):
                self.add_error(name, _("This field is required."))
        unit = _minor(self, "unit_price", currency)
        return {
            "category": data.get("category") or "",
            "sku": data.get("sku") or "",
            "description": data.get("description") or "",
            "quantity": data.get("quantity") or 0,
            "unit_amount_minor": unit if unit is not None else 0,
            "amount_minor": _minor(self, "amount", currency),
        }


PurchaseLineFormSet = forms.formset_factory(
    PurchaseLineForm, extra=LINE_ROWS, max_num=50, validate_max=True
)


def purchase_data(form: PurchaseForm, lines: Any) -> dict[str, Any] | None:
    """The service input from a valid form and formset, or None after adding parse errors."""
    currency = (form.cleaned_data.get("currency") or "CNY").upper()
    total = form.total_minor()
    rows = [line.line_data(currency) for line in lines if not line.is_blank()]
    if not rows:
        form.add_error(None, _("Give at least one line."))
    if form.errors or any(line.errors for line in lines):
        return None
    return {
        "customer_number": form.cleaned_data["customer"].customer_number,
        "reference": form.cleaned_data["reference"],
        "purchased_at": form.cleaned_data["purchased_at"],
        "channel": form.cleaned_data["channel"],
        "store_code": form.cleaned_data["store_code"],
        "currency": currency,
        "total_minor": total,
        "note": form.cleaned_data["note"],
        "lines": rows,
    }


class ReturnForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ReturnKind.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    returned_at = forms.DateTimeField(
        label=_("Returned at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: now."),
    )
    refund = forms.CharField(label=_("Refund"), max_length=20, required=False, initial="0")
    replacement_reference = forms.CharField(
        label=_("Receipt number of the replacement"),
        max_length=60,
        required=False,
        help_text=_("Exchange only, when the replacement purchase is recorded."),
    )

    def __init__(self, *args: Any, lines: list[Any], currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.currency = currency
        for line in lines:
            left = line.quantity - line.returned_quantity
            self.fields[f"line_{line.line_number}"] = forms.IntegerField(
                label=_("Line %(number)d: %(text)s (%(left)d of %(bought)d can come back)")
                % {
                    "number": line.line_number,
                    "text": line.description or line.sku,
                    "left": left,
                    "bought": line.quantity,
                },
                min_value=0,
                required=False,
                initial=0,
            )

    def return_data(self) -> dict[str, Any] | None:
        refund = _minor(self, "refund", self.currency)
        lines = [
            {"line_number": line.line_number, "quantity": self.cleaned_data[name]}
            for line in self.lines
            if (self.cleaned_data.get(name := f"line_{line.line_number}") or 0) > 0
        ]
        if not lines:
            self.add_error(None, _("Give the quantity coming back on at least one line."))
        if self.errors:
            return None
        return {
            "kind": self.cleaned_data["kind"],
            "reason": self.cleaned_data["reason"],
            "note": self.cleaned_data["note"],
            "returned_at": self.cleaned_data["returned_at"],
            "refund_minor": refund or 0,
            "replacement_reference": self.cleaned_data["replacement_reference"],
            "lines": lines,
        }
