"""Moved to cpms.core.money (one exponent table for the product); kept as an alias. Here zero
is a valid amount (a free line, a zero threshold)."""

from __future__ import annotations

from functools import partial

from cpms.core.money import CURRENCY, AmountError, exponent, format_minor
from cpms.core.money import parse_major as _parse_major

parse_major = partial(_parse_major, allow_zero=True)

__all__ = ["CURRENCY", "AmountError", "exponent", "format_minor", "parse_major"]
