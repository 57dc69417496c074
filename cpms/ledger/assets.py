"""What can be held in the ledger: ISO 4217 currencies (with their minor units), loyalty points
and units of an instrument. Asset rows are created on first use from these definitions."""

from __future__ import annotations

import re

from cpms.core.money import minor_exponent
from cpms.ledger.choices import AssetKind

# active ISO 4217 alphabetic codes (funds and precious metals excluded)
_ISO_4217_TEXT = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217 = frozenset(_ISO_4217_TEXT.split())

POINTS_CODE = "PTS"
UNITS_PREFIX = "U:"
# instrument identifiers after "U:": ISIN, exchange codes like 600519.SH, fund codes
_INSTRUMENT = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")
# units of an instrument are counted to 4 decimals (fund shares), i.e. 1 unit = 10,000 minor
UNITS_EXPONENT = 4


def is_currency(code: str) -> bool:
    return code in ISO_4217


def units_code(instrument: str) -> str:
    return f"{UNITS_PREFIX}{instrument.strip().upper()}"


def definition(code: str) -> tuple[str, int, str] | None:
    """(kind, exponent, name) of a known asset code, or None for an unknown one."""
    code = (code or "").strip().upper()
    if code in ISO_4217:
        return AssetKind.CURRENCY, minor_exponent(code), code
    if code == POINTS_CODE:
        return AssetKind.POINTS, 0, "Loyalty points"
    if code.startswith(UNITS_PREFIX) and _INSTRUMENT.match(code[len(UNITS_PREFIX) :]):
        return AssetKind.UNITS, UNITS_EXPONENT, code[len(UNITS_PREFIX) :]
    return None


def format_minor(amount_minor: int, exponent: int) -> str:
    """Exact decimal text of a minor-unit amount: 123456, 2 -> '1234.56'; -5, 2 -> '-0.05'."""
    sign = "-" if amount_minor < 0 else ""
    digits = str(abs(int(amount_minor)))
    if exponent <= 0:
        return f"{sign}{digits}"
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"
