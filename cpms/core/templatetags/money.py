"""{% load money %} {{ amount_minor|money:currency }} -> "800,000.00 CNY"; |money_plain leaves
the currency out. Templates never show minor units."""

from __future__ import annotations

from typing import Any

from django import template

from cpms.core.money import format_minor

register = template.Library()


@register.filter
def money(amount: Any, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    return format_minor(int(amount), currency or "")


@register.filter
def money_plain(amount: Any, currency: str = "") -> str:
    if amount is None or amount == "":
        return ""
    return format_minor(int(amount), currency or "", code=False)
