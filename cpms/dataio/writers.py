"""Streaming writers: CSV (UTF-8 with a BOM, so spreadsheet programs show Chinese correctly)
and XLSX (openpyxl's write-only mode, rows flushed as they come)."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from cpms.dataio.choices import FileFormat


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def write_table(
    stream: IO[bytes], file_format: str, headers: list[str], rows: Iterable[list[Any]]
) -> int:
    """Write a header row and the rows; returns the number of data rows."""
    count = 0
    if file_format == FileFormat.XLSX:
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(headers)
        for row in rows:
            sheet.append([_text(value) for value in row])
            count += 1
        workbook.save(stream)
        return count
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_text(value) for value in row])
            count += 1
        text.flush()
    finally:
        text.detach()
    return count


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """CSV as a stream of byte chunks (for a streaming HTTP response)."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode() + writer.writerow(headers).encode()
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow([_text(value) for value in row]))
        if len(buffer) >= 500:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()
