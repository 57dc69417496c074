from __future__ import annotations

from django import template

from cpms.ledger.assets import format_minor

register = template.Library()


@register.filter
def money(value: int | None, exponent: int = 2) -> str:
    """Minor units as a decimal amount ("—" when unknown)."""
    if value is None or value == "":
        return "—"
    return format_minor(int(value), int(exponent))
