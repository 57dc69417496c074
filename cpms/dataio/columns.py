"""Columns of a dataset and how file headers map onto them.

A header matches a column when, after normalisation (NFKC, case folded, spaces, underscores,
hyphens and a trailing colon removed), it equals the column's field name, its English or
Chinese header, or one of its aliases. Unknown and missing columns are named in the error."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language

from cpms.dataio.errors import FileRefused
from cpms.dataio.messages import Joined, _

_NOISE = re.compile(r"[\s_\-:：()（）]+")


def normalise_header(header: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(header)).casefold())


@dataclass(frozen=True)
class Column:
    name: str  # the field it fills
    english: str
    chinese: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    # On update a blank cell keeps the stored value; in a clearable column the cell "-"
    # clears it (see `given_values`).
    clearable: bool = False

    def header(self, language: str | None = None) -> str:
        language = (language or get_language() or "en").lower()
        return self.chinese if language.startswith("zh") else self.english

    def spellings(self) -> set[str]:
        return {
            normalise_header(text)
            for text in (self.name, self.english, self.chinese, *self.aliases)
        }


@dataclass
class ColumnMap:
    """Where each known column sits in the file, and the header as the file writes it."""

    positions: dict[str, int]
    headers: dict[str, str]
    width: int
    columns: Sequence[Column] = field(default_factory=tuple)

    def header_for(self, name: str) -> str:
        """The header a message names: as written in the file, or the template's."""
        if name in self.headers:
            return self.headers[name]
        for column in self.columns:
            if column.name == name:
                return column.header()
        return name

    def values(self, cells: Sequence[Any]) -> dict[str, Any]:
        width = len(cells)
        return {
            name: (cells[index] if index < width else "") for name, index in self.positions.items()
        }


def map_headers(headers: Sequence[str], columns: Sequence[Column]) -> ColumnMap:
    lookup: dict[str, Column] = {}
    for column in columns:
        for spelling in column.spellings():
            lookup.setdefault(spelling, column)
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for index, header in enumerate(headers):
        text = str(header).strip()
        if not text:
            continue
        column = lookup.get(normalise_header(text))
        if column is None:
            unknown.append(text)
        elif column.name in positions:
            repeated.append(text)
        else:
            positions[column.name] = index
            written[column.name] = text
    missing = [
        column.header() for column in columns if column.required and column.name not in positions
    ]
    problems: dict[str, Any] = {}
    if unknown:
        problems["unknown_columns"] = _("Unknown columns: %(names)s.") % {
            "names": ", ".join(unknown)
        }
    if missing:
        problems["missing_columns"] = _("Missing columns: %(names)s.") % {
            "names": ", ".join(missing)
        }
    if repeated:
        problems["repeated_columns"] = _("Columns given twice: %(names)s.") % {
            "names": ", ".join(repeated)
        }
    if problems:
        parts = list(problems.values())
        if unknown:
            accepted = ", ".join(column.header() for column in columns)
            parts.append(_("Accepted columns: %(names)s.") % {"names": accepted})
        raise FileRefused(" ".join(parts), fields=problems, parts=[Joined(parts)])
    return ColumnMap(positions, written, len(headers), tuple(columns))


# --- cell parsing -----------------------------------------------------------------------------


class CellInvalid(ValueError):
    pass


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def parse_date(value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellInvalid(_("Not a date; write it as YYYY-MM-DD."))


def parse_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise CellInvalid(_("Not a whole number.")) from None


def parse_amount_minor(value: Any, *, digits: int = 2) -> int | None:
    """An amount written with a decimal point ('1234.50') as integer minor units (123450);
    never through a float."""
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CellInvalid(_("Not an amount.")) from None
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise CellInvalid(
            _("At most %(digits)s digits after the decimal point.") % {"digits": digits}
        )
    return int(scaled)


CLEAR_MARKERS = frozenset({"-", "－"})


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def given_values(values: dict[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    """The cells a row gives: blank cells are left out (an update keeps the stored value, a
    new record gets the default), and "-" in a clearable column becomes "" (clear it)."""
    clearable = {column.name for column in columns if column.clearable}
    given = {}
    for name, value in values.items():
        if blank(value):
            continue
        if name in clearable and isinstance(value, str) and value.strip() in CLEAR_MARKERS:
            value = ""
        given[name] = value
    return given


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return (
        unicodedata.normalize("NFKC", str(value)).strip()
        if not str(value).isascii()
        else str(value).strip()
    )


def choice_lookup(choices: Any, extra: dict[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Accepted spellings of a TextChoices value: the code, and its label in English and
    Chinese (plus extra synonyms), normalised like headers."""
    from django.utils import translation

    lookup: dict[str, str] = {}
    for value, label in choices.choices:
        lookup[normalise_header(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[normalise_header(str(label))] = value
    for value, synonyms in (extra or {}).items():
        for synonym in synonyms:
            lookup[normalise_header(synonym)] = value
    return lookup
