from django import template

from cpms.core.money import format_minor

register = template.Library()


@register.filter
def minor(amount: int | None, currency: str = "") -> str:
    """{{ purchase.total_minor|minor:purchase.currency }} -> "12,345.67 CNY"."""
    return format_minor(amount, currency)
