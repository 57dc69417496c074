"""Amounts in integer minor units: formatting for people and parsing of typed major units.
Never through floats (Decimal for parsing)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from the usual 2
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
CURRENCY = re.compile(r"^[A-Z]{3}$")


def exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def format_minor(amount: int | None, currency: str = "") -> str:
    """1234567 CNY -> "12,345.67 CNY"; 500 JPY -> "500 JPY"."""
    if amount is None:
        return ""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**places)
    text = f"{sign}{major:,}" + (f".{minor:0{places}d}" if places else "")
    return f"{text} {currency}".strip()


def parse_major(text: str, currency: str) -> int:
    """ "12.5" CNY -> 1250. ValueError when it is not a number, is negative or has more
    decimals than the currency."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("not a positive number")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError("too many decimals")
    return int(scaled)
