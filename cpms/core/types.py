"""Field types shared by API schemas, imports and the CLI.

Money and points are integer minor units. On input they are *strict* integers: `"100"`, `100.0`
and `true` are refused rather than coerced, so a client that sends a float or a string learns
about it instead of having its amount silently reinterpreted. Every amount is bounded well inside
a 64-bit column (and inside what sums of many amounts can reach), so an oversized number is a
422 that names the field, never a database overflow.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# 10^15 minor units: ten trillion yuan in fen. Sums of up to ~9,000 such amounts still fit in
# a signed 64-bit integer, the widest column any balance uses.
MAX_MINOR_UNITS = 10**15

MinorUnits = Annotated[int, Field(strict=True, ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS)]
NonNegativeMinorUnits = Annotated[int, Field(strict=True, ge=0, le=MAX_MINOR_UNITS)]
PositiveMinorUnits = Annotated[int, Field(strict=True, gt=0, le=MAX_MINOR_UNITS)]


def integer_text(value: object) -> object:
    """A CSV cell of plain ASCII digits as an int, so file imports can feed the strict types
    above; anything else is returned unchanged for the schema to refuse with its message."""
    text = str(value).strip() if isinstance(value, str) else None
    if text is not None and text.isascii() and text.isdigit():
        return int(text)
    return value
