"""`{% load holdings %}{{ amount_minor|minor:currency }}`: integer minor units shown in major
units with the currency's decimals and thousands separators ("—" for no amount)."""

from __future__ import annotations

from typing import Any

from django import template

from cpms.core.money import minor_exponent, to_major

register = template.Library()


@register.filter
def minor(amount_minor: Any, currency: str = "CNY") -> str:
    if amount_minor in (None, ""):
        return "—"
    value = to_major(int(amount_minor), currency)
    return f"{value:,.{minor_exponent(currency)}f}"
