"""Console form for booking a trade; the service validates everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cpms.portfolios.choices import TradeSide


class TradeForm(forms.Form):
    side = forms.ChoiceField(label=_("Side"), choices=TradeSide.choices)
    instrument_code = forms.CharField(label=_("Instrument code"), max_length=20)
    quantity = forms.DecimalField(label=_("Quantity (units)"), min_value=0, decimal_places=4)
    price = forms.DecimalField(label=_("Price per unit"), min_value=0, decimal_places=8)
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    fee = forms.DecimalField(label=_("Fee"), min_value=0, decimal_places=3, required=False)
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

    def trade_data(self) -> dict[str, Any]:
        from cpms.holdings.money import to_minor

        data = dict(self.cleaned_data)
        currency = (data.get("currency") or "").strip().upper()
        fee = data.pop("fee", None)
        data["currency"] = currency
        data["fee_minor"] = to_minor(fee, currency) if fee else 0
        data["idempotency_key"] = data.get("idempotency_key") or None
        data["settlement_date"] = data.get("settlement_date") or None
        return data
