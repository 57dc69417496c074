"""Console form for booking a trade; the service validates everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.core.forms import MoneyField, clean_money
from cpms.portfolios.choices import TradeSide


class TradeForm(forms.Form):
    side = forms.ChoiceField(label=_("Side"), choices=TradeSide.choices)
    instrument_code = forms.CharField(label=_("Instrument code"), max_length=20)
    quantity = forms.DecimalField(label=_("Quantity (units)"), min_value=0, decimal_places=4)
    price = forms.DecimalField(label=_("Price per unit"), min_value=0, decimal_places=8)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    fee = MoneyField(label=_("Fee"), currency_field="currency", allow_zero=True, required=False)
    trade_date = forms.DateField(
        label=_("Trade date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    settlement_date = forms.DateField(
        label=_("Settlement date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reference = forms.CharField(label=_("Reference"), max_length=120, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=60, required=False)

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        clean_money(self, "fee")  # the fee in the trade's currency, its decimals exactly
        return data

    def trade_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        fee = data.pop("fee", None)
        data["fee_minor"] = fee or 0
        data["idempotency_key"] = data.get("idempotency_key") or None
        data["settlement_date"] = data.get("settlement_date") or None
        return data
