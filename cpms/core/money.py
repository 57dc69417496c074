"""Money for people: ISO 4217 minor-unit exponents, exact conversion between integer minor
units (what the ledger stores) and typed amounts in the currency's main unit ("800,000.00"),
and formatting with thousands separators. Never through floats.

One table for the whole product: holdings, ledger, retail, points and every form read it here.
Non-currency assets (points "PTS", fund units) are not in ISO 4217 and pass their exponent
explicitly."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

# ISO 4217 currencies whose minor unit is not 1/100; every other currency has 2 decimals
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "PTS": 0,  # loyalty points are counted in whole points
}  # fmt: skip
CURRENCY = re.compile(r"^[A-Z]{3}$")
# digits with optional thousands separators (groups of three), optional decimals
_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?$|^[+-]?\.\d+$")
BOUND = 10**15  # the ledger's bound on one amount in minor units


class AmountError(ValueError):
    """A typed amount that cannot be taken: `code` for machines, `message` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


exponent = minor_exponent


def to_minor(amount: Decimal, currency: str) -> int:
    """A decimal amount in major units to integer minor units, rounded half-up (for computed
    values such as prices times quantities; typed amounts go through `parse_major`)."""
    scaled = Decimal(amount) * (Decimal(10) ** minor_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_major(amount_minor: int | None, currency: str) -> Decimal | None:
    if amount_minor is None:
        return None
    return Decimal(amount_minor).scaleb(-minor_exponent(currency))


def format_minor(
    amount: int | None, currency: str = "", *, places: int | None = None, code: bool = True
) -> str:
    """1234567 CNY -> "12,345.67 CNY"; 500 JPY -> "500 JPY"; `code=False` leaves the currency
    out. `places` overrides the exponent (units of a fund, say)."""
    if amount is None or amount == "":
        return ""
    places = minor_exponent(currency) if places is None else places
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**places)
    text = f"{sign}{major:,}" + (f".{minor:0{places}d}" if places else "")
    return f"{text} {currency}".strip() if code else text


def format_major_input(amount: int | None, currency: str = "", *, places: int | None = None) -> str:
    """The value to put back into an input: "800000.00" style without separators is accepted
    too, but people read separators better, so the same text as on screen, without the code."""
    return format_minor(amount, currency, places=places, code=False)


def parse_major(
    text: str,
    currency: str,
    *,
    places: int | None = None,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> int:
    """ "800,000.00" CNY -> 80000000. Accepts full-width digits, spaces, a leading ¥/$ sign and
    thousands separators in groups of three; refuses anything else with an `AmountError`
    naming the problem (not a number, negative, zero, more decimals than the currency has,
    too large)."""
    raw = unicodedata.normalize("NFKC", str(text or "")).strip()
    raw = raw.replace(" ", "").replace("\u00a0", "")
    raw = raw.lstrip("¥￥$€£")
    if raw.upper().endswith((currency or "").upper()) and currency:
        raw = raw[: -len(currency)].strip()
    if not raw:
        raise AmountError("amount.required", str(_("Enter an amount.")))
    if not _AMOUNT.match(raw):
        raise AmountError(
            "amount.not_a_number",
            str(_("“%(text)s” is not an amount: use digits, e.g. 800,000.00.") % {"text": text}),
        )
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise AmountError("amount.not_a_number", str(_("Not an amount."))) from None
    places = minor_exponent(currency) if places is None else places
    if value < 0 and not allow_negative:
        raise AmountError("amount.negative", str(_("The amount cannot be negative.")))
    if value == 0 and not allow_zero:
        raise AmountError("amount.zero", str(_("The amount must be more than zero.")))
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        if places == 0:
            message = _("%(currency)s has no decimals: enter a whole amount.")
        else:
            message = _("%(currency)s has %(places)s decimal places: enter at most %(places)s.")
        raise AmountError(
            "amount.too_many_decimals",
            str(message % {"currency": currency or _("This amount"), "places": places}),
        )
    minor = int(scaled)
    if abs(minor) >= BOUND:
        raise AmountError("amount.too_large", str(_("The amount is too large.")))
    return minor
