"""Minor units of ISO 4217 currencies and exact conversions (Decimal, never float)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# currencies whose minor unit is not 1/100 (ISO 4217); every other currency has 2 decimals
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """A decimal amount in major units to integer minor units, rounded half-up."""
    scaled = Decimal(amount) * (Decimal(10) ** minor_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_major(amount_minor: int | None, currency: str) -> Decimal | None:
    if amount_minor is None:
        return None
    return Decimal(amount_minor).scaleb(-minor_exponent(currency))
