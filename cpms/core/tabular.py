"""The one writer of CSV and XLSX files (exports, reports, statements, error reports).

Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` as a formula (and some
treat a leading tab or carriage return the same way), so a customer named `=HYPERLINK(...)`
would become a live link or a command in whoever opens the export. Every text cell written
here is *neutralised*: when it starts with one of those characters it gets a leading single
quote (`'=1+1`), which makes it text in every spreadsheet program. In XLSX, text is also
written with the string type ("s"), never as a formula. Numbers (including negative ones),
dates and empty cells are written as they are: only text is neutralised.

A text that already starts with a quote followed by one of those characters gets one more
quote, so `restore` (used by the importers) gives back exactly the original text.

`tests/core/test_tabular.py` fails when a module other than this one uses `csv.writer`,
`csv.DictWriter` or openpyxl's `Workbook`/`WriteOnlyCell`.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
CSV_BOM = "\ufeff"


def _triggers(text: str) -> bool:
    """True when the text, after any leading quotes, starts with a formula character."""
    return text.lstrip(QUOTE)[:1] in FORMULA_TRIGGERS


def neutralise(text: str) -> str:
    """`text` made safe to put in a spreadsheet cell (see the module's docstring)."""
    if _triggers(text):
        return QUOTE + text
    return text


def restore(text: str) -> str:
    """The original text of a neutralised cell (the inverse of `neutralise`)."""
    if text.startswith(QUOTE) and _triggers(text):
        return text[1:]
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def cell_text(value: Any) -> str:
    """A value as one CSV cell: empty for None, numbers and dates as they are, text
    neutralised."""
    if value is None:
        return ""
    if _is_number(value):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return neutralise(str(value))


# --------------------------------------------------------------------------- CSV


class _Echo:
    """A file-like object whose write returns what it is given (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


class CsvWriter:
    """`csv.writer` whose cells go through `cell_text`."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell_text(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_line(row: Iterable[Any]) -> str:
    """One row as a CSV line (with its line ending)."""
    return str(CsvWriter(_Echo()).writerow(row))


def csv_lines(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> Iterator[str]:
    """CSV text as a stream of lines, the first preceded by a byte-order mark (so spreadsheet
    programs read UTF-8) unless `bom=False`."""
    writer = CsvWriter(_Echo())
    if bom:
        yield CSV_BOM
    for row in rows:
        yield writer.writerow(row)


def csv_chunks(
    rows: Iterable[Iterable[Any]], *, bom: bool = True, lines_per_chunk: int = 500
) -> Iterator[bytes]:
    """CSV as UTF-8 byte chunks of a few hundred lines (for a streaming HTTP response)."""
    buffer: list[str] = []
    for line in csv_lines(rows, bom=bom):
        buffer.append(line)
        if len(buffer) >= lines_per_chunk:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()


def csv_text(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> str:
    return "".join(csv_lines(rows, bom=bom))


def write_csv(stream: IO[bytes], rows: Iterable[Iterable[Any]], *, bom: bool = True) -> int:
    """Write rows to a binary stream as UTF-8 CSV; returns the number of rows written. The
    stream is left open."""
    text = io.TextIOWrapper(
        stream, encoding="utf-8-sig" if bom else "utf-8", newline="", write_through=True
    )
    count = 0
    try:
        writer = CsvWriter(text)
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


# --------------------------------------------------------------------------- XLSX


def xlsx_workbook(*, write_only: bool = False) -> Any:
    """A new openpyxl workbook (write-only mode streams rows to disk as they come). Put rows in
    it with `xlsx_append` only."""
    from openpyxl import Workbook

    return Workbook(write_only=write_only)


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """One cell for `sheet`: text neutralised and typed as a string, numbers and dates as
    they are."""
    from openpyxl.cell import WriteOnlyCell

    if value is None or _is_number(value) or isinstance(value, datetime.date | datetime.time):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=neutralise(str(value)))
    cell.data_type = "s"
    return cell


def xlsx_append(sheet: Any, row: Iterable[Any]) -> None:
    """Append one row to a worksheet (normal or write-only) through `xlsx_cell`."""
    sheet.append([xlsx_cell(sheet, value) for value in row])


def write_xlsx(stream: IO[bytes], rows: Iterable[Iterable[Any]], *, title: str = "") -> int:
    """Write rows to a one-sheet workbook (write-only mode) on a binary stream; returns the
    number of rows written."""
    workbook = xlsx_workbook(write_only=True)
    sheet = workbook.create_sheet(title=title or None)
    count = 0
    for row in rows:
        xlsx_append(sheet, row)
        count += 1
    workbook.save(stream)
    return count
