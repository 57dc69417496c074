"""Instrument prices imported from CSV files (market data for portfolio valuation). All or
nothing: every row is validated before anything is written, and a file imported again
changes nothing (upsert by instrument, currency, date and source)."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.locks import lock_rows
from cpms.holdings.errors import PriceImportFailed
from cpms.holdings.models import MANAGE_PERMISSION, InstrumentPrice
from cpms.holdings.services._common import PRICE_OBJECT_TYPE

PRICE_COLUMNS = {
    "instrument_code": ("instrument_code", "instrument", "code", "代码", "证券代码"),
    "price": ("price", "价格", "单价"),
    "currency": ("currency", "币种"),
    "priced_on": ("priced_on", "date", "price_date", "日期", "价格日期"),
    "source": ("source", "来源"),
}
REQUIRED_PRICE_COLUMNS = ("instrument_code", "price", "priced_on")
MAX_PRICE_ROWS = 200_000


@dataclass(frozen=True)
class PriceImportReport:
    rows: int
    created: int
    updated: int
    unchanged: int


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PriceImportFailed(fields={"file": _("The file is not UTF-8 or GB18030 text.")})


def _price_columns(header: list[str]) -> dict[str, int]:
    """Column name -> index, from a header in English or Chinese; missing required and unknown
    columns are refused together."""
    aliases = {alias.lower(): name for name, names in PRICE_COLUMNS.items() for alias in names}
    positions: dict[str, int] = {}
    unknown = []
    for index, title in enumerate(header):
        name = aliases.get(title.strip().lower())
        if name is None:
            unknown.append(title.strip())
        else:
            positions[name] = index
    errors: dict[str, str] = {}
    missing = [name for name in REQUIRED_PRICE_COLUMNS if name not in positions]
    if missing:
        errors["header"] = _("Missing columns: %(names)s.") % {"names": ", ".join(missing)}
    if unknown:
        errors["header.unknown"] = _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}
    if errors:
        raise PriceImportFailed(fields=errors)
    return positions


def _price_value(text: str) -> Decimal | None:
    """A finite price of 0 or more with at most 8 decimals (below 10^16), or None."""
    try:
        price = Decimal(text.replace(",", ""))
        if not price.is_finite() or price < 0 or price.as_tuple().exponent < -8:
            raise InvalidOperation
        if abs(price) >= Decimal(10) ** 16:
            raise InvalidOperation
    except InvalidOperation:
        return None
    return price


def _price_row(
    cells: list[str],
    positions: dict[str, int],
    *,
    where: str,
    default_source: str,
    today: datetime.date,
    errors: dict[str, str],
) -> dict[str, Any]:
    """One row's values; its errors are added to `errors` under `row N.column`."""

    def cell(name: str) -> str:
        index = positions.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    code = cell("instrument_code").upper()
    if not code or len(code) > 40:
        errors[f"{where}.instrument_code"] = _("Give an instrument code.")
    price = _price_value(cell("price"))
    if price is None:
        errors[f"{where}.price"] = _("Give a price of 0 or more with at most 8 decimals.")
    currency = (cell("currency") or "CNY").upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        errors[f"{where}.currency"] = _("Give a three-letter ISO 4217 currency code.")
    try:
        priced_on = datetime.date.fromisoformat(cell("priced_on"))
        if priced_on > today:
            errors[f"{where}.priced_on"] = _("The price date cannot be in the future.")
    except ValueError:
        errors[f"{where}.priced_on"] = _("Give the date as YYYY-MM-DD.")
        priced_on = None
    return {
        "instrument_code": code,
        "price": price,
        "currency": currency,
        "priced_on": priced_on,
        "source": (cell("source") or default_source)[:80],
    }


def _price_rows(content: bytes, default_source: str) -> list[dict[str, Any]]:
    """Parse and validate every row; all errors at once (`row N, column`: message)."""
    if b"\x00" in content[:4096]:
        raise PriceImportFailed(fields={"file": _("The file is not a CSV file.")})
    reader = csv.reader(io.StringIO(_decode(content)))
    header = next(reader, None)
    if not header:
        raise PriceImportFailed(fields={"file": _("The file is empty.")})
    positions = _price_columns(header)
    errors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    today = timezone.localdate()
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_PRICE_ROWS:
            errors["file"] = _("At most %(count)d rows per file.") % {"count": MAX_PRICE_ROWS}
            break
        where = f"row {line_number}"
        row = _price_row(
            cells,
            positions,
            where=where,
            default_source=default_source,
            today=today,
            errors=errors,
        )
        key = (row["instrument_code"], row["currency"], row["priced_on"], row["source"])
        if key in seen:
            errors[f"{where}.instrument_code"] = _(
                "Same instrument, currency, date and source as row %(row)d."
            ) % {"row": seen[key]}
        seen[key] = line_number
        rows.append(row)
    if errors:
        raise PriceImportFailed(fields=errors)
    if not rows:
        raise PriceImportFailed(fields={"file": _("The file has no price rows.")})
    return rows


def prices_import(
    *, actor: Any, content: bytes, source: str = "import", filename: str = ""
) -> PriceImportReport:
    """Import instrument prices from a CSV file (columns instrument_code, price, currency,
    priced_on, source; headers in English or Chinese; UTF-8, UTF-8 with BOM or GB18030).
    All or nothing: any bad row rejects the file and nothing is written. Importing the same
    file again changes nothing (upsert by instrument, currency, date and source)."""
    require_permission(actor, MANAGE_PERMISSION)
    rows = _price_rows(content, (source or "import").strip() or "import")
    created = updated = unchanged = 0
    now = timezone.now()
    with transaction.atomic():
        codes = {row["instrument_code"] for row in rows}
        existing = {
            (price.instrument_code, price.currency, price.priced_on, price.source): price
            for price in lock_rows(
                InstrumentPrice.objects.filter(instrument_code__in=codes)
            ).values()
        }
        new: list[InstrumentPrice] = []
        changed: list[InstrumentPrice] = []
        for row in rows:
            key = (row["instrument_code"], row["currency"], row["priced_on"], row["source"])
            found = existing.get(key)
            if found is None:
                new.append(InstrumentPrice(imported_at=now, imported_by=actor, **row))
            elif found.price != row["price"]:
                found.price = row["price"]
                found.imported_at = now
                found.imported_by = actor
                changed.append(found)
            else:
                unchanged += 1
        InstrumentPrice.objects.bulk_create(new, batch_size=1000)
        InstrumentPrice.objects.bulk_update(
            changed, ["price", "imported_at", "imported_by"], batch_size=1000
        )
        created, updated = len(new), len(changed)
        audit_record(
            actor=actor,
            action=AuditAction.PRICES_IMPORTED,
            object_type=PRICE_OBJECT_TYPE,
            after={
                "file": (filename or "")[:200],
                "sha256": hashlib.sha256(content).hexdigest(),
                "rows": len(rows),
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
                "instruments": len(codes),
            },
        )
    return PriceImportReport(rows=len(rows), created=created, updated=updated, unchanged=unchanged)
