from django import template

from cpms.ledger import assets

register = template.Library()


def exponent_of(currency: str) -> int:
    found = assets.definition(currency or "")
    return found[1] if found else 2


@register.filter
def loan_money(amount: int | None, currency: str = "") -> str:
    """{{ row.outstanding_minor|loan_money:"CNY" }} -> "1,234.56"."""
    if amount is None:
        return "—"
    exponent = exponent_of(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(int(amount)), 10**exponent)
    text = f"{whole:,}"
    if exponent:
        text += f".{part:0{exponent}d}"
    return sign + text
