"""Form fields for people: money typed in the currency's main unit, and type-ahead pickers
instead of internal IDs."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cpms.core.money import AmountError, format_minor, parse_major
from cpms.core.picker_views import EXTRA_PREFIX


class MoneyInput(forms.TextInput):
    """A text input for "800,000.00" (not type=number: separators, full-width digits and
    exact decimals are kept; the keyboard on phones still offers digits)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"inputmode": "decimal", "autocomplete": "off", "class": "money-input"}
        super().__init__({**base, **(attrs or {})})


class MoneyField(forms.Field):
    """An amount typed in the currency's main unit -> integer minor units in cleaned_data.

    The currency is fixed (`currency="CNY"`) or read from another field of the same form
    (`currency_field="currency"`, which must come earlier in the form); more decimals than the
    currency has, a negative or zero amount (unless allowed) are refused with a specific
    message."""

    widget = MoneyInput

    def __init__(
        self,
        *,
        currency: str = "",
        currency_field: str | None = None,
        allow_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        self.currency = currency
        self.currency_field = currency_field
        self.allow_zero = allow_zero
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return format_minor(value, self.currency, code=False)
        return value

    def to_minor(self, value: Any, currency: str) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_major(str(value), currency, allow_zero=self.allow_zero)
        except AmountError as error:
            raise forms.ValidationError(error.message, code=error.code) from None

    def clean(self, value: Any) -> Any:
        # with a currency field the form converts in clean_<name> via clean_money(); here only
        # the text is checked for being there
        if self.currency_field:
            text = super().clean(value)
            return None if text in self.empty_values else str(text)
        value = super().clean(value)
        return self.to_minor(value, self.currency)


def clean_money(form: forms.Form, name: str) -> int | None:
    """For a MoneyField with `currency_field`: call from the form's clean(); converts the text
    with the currency the form chose and puts the error on the amount field."""
    field = form.fields[name]
    text = form.cleaned_data.get(name)
    currency = form.cleaned_data.get(field.currency_field or "", "") or field.currency
    if text is None or not currency:
        return None
    try:
        minor = field.to_minor(text, str(currency))
    except forms.ValidationError as error:
        form.add_error(name, error)
        return None
    form.cleaned_data[name] = minor
    return minor


class PickerWidget(forms.Widget):
    """A type-ahead search box backed by `/pick/<kind>/`; submits the chosen value in a hidden
    input named like the field. Works with the keyboard (arrows, Enter, Escape)."""

    template_name = "core/widgets/picker.html"

    def __init__(
        self,
        kind: str,
        *,
        placeholder: str | Any = "",
        extra: dict[str, str] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(attrs)
        self.kind = kind
        self.placeholder = placeholder
        self.extra = dict(extra or {})
        self.field: PickerField | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> PickerWidget:
        result = super().__deepcopy__(memo)
        result.extra = dict(self.extra)
        return result

    def label_for(self, value: Any) -> str:
        if value in (None, "") or self.field is None:
            return ""
        try:
            instance = self.field.queryset.filter(pk=value).first()
        except (ValueError, TypeError):
            return ""
        return self.field.label_from_instance(instance) if instance is not None else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["kind"] = self.kind
        widget["url"] = reverse("pick", args=[self.kind])
        widget["label"] = self.label_for(value)
        widget["placeholder"] = self.placeholder or _("Type a name to search")
        widget["vals"] = json.dumps(
            {f"{EXTRA_PREFIX}{key}": str(val) for key, val in self.extra.items()}
        )
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class PickerField(forms.ModelChoiceField):
    """A ModelChoiceField whose widget is a type-ahead picker: no <option> per row (works with
    10,000 customers), and the queryset — the user's scope — decides what may be submitted.
    Out of scope is refused exactly like missing."""

    def __init__(self, kind: str, *, queryset: Any = None, extra: dict[str, str] | None = None,
                 placeholder: str | Any = "", **kwargs: Any) -> None:  # fmt: skip
        kwargs.setdefault("widget", PickerWidget(kind, placeholder=placeholder, extra=extra))
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Not found: search again and pick one from the list.")},
        )
        super().__init__(queryset=queryset if queryset is not None else _none(), **kwargs)
        self.widget.field = self

    def __deepcopy__(self, memo: dict[int, Any]) -> PickerField:
        result = super().__deepcopy__(memo)
        result.widget.field = result
        return result

    def set_extra(self, **extra: str) -> None:
        """Filters sent to the search with every keystroke (e.g. currency="CNY")."""
        self.widget.extra.update({key: str(value) for key, value in extra.items()})


def _none() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.none()


__all__ = [
    "MoneyField",
    "MoneyInput",
    "PickerField",
    "PickerWidget",
    "clean_money",
]
