"""Writers of exports and templates: CSV (UTF-8 with a BOM, so spreadsheet programs show
Chinese correctly) and XLSX (write-only mode, rows flushed as they come), both through
`cpms.core.tabular`, which neutralises text that a spreadsheet would run as a formula."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import IO, Any

from cpms.core import tabular
from cpms.dataio.choices import FileFormat


def _value(value: Any) -> Any:
    """A cell as the datasets write it: lists comma separated, dates as ISO text (the importer
    reads both back); text and numbers go to the shared writer as they are."""
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _rows(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
    yield headers
    for row in rows:
        yield [_value(value) for value in row]


def write_table(
    stream: IO[bytes], file_format: str, headers: list[str], rows: Iterable[list[Any]]
) -> int:
    """Write a header row and the rows; returns the number of data rows."""
    if file_format == FileFormat.XLSX:
        return tabular.write_xlsx(stream, _rows(headers, rows)) - 1
    return tabular.write_csv(stream, _rows(headers, rows)) - 1
