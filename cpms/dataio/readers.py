"""Streaming readers for CSV and XLSX: one row at a time, never the whole file in memory.

`open_table(stream, filename)` sniffs the content (not the name): a ZIP container is read as
XLSX, an OLE2 container as legacy XLS, anything else must be text in UTF-8 with a BOM, UTF-8 or
GB18030 (tried in that order on a sample, then decoded incrementally). Images, PDFs, archives,
binary data and text in other encodings are refused with a message that says what the file is.
Text cells that an export neutralised against formula injection (`'=1+1`) are restored
(`cpms.core.tabular.restore`), so an export imports back unchanged.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import filetype

from cpms.core.tabular import restore
from cpms.core.zipguard import ArchiveRefused, ZipLimits, check_archive
from cpms.dataio.choices import FileFormat
from cpms.dataio.errors import FileRefused
from cpms.dataio.messages import _

SAMPLE_BYTES = 64 * 1024
# Above this uncompressed sheet size calamine (which loads a whole sheet) gives way to
# openpyxl's read-only streaming parser, so memory stays bounded on very large workbooks.
CALAMINE_MAX_SHEET_BYTES = 64 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
csv.field_size_limit(1024 * 1024)


@dataclass
class Table:
    """An opened sheet: its header row as written and an iterator of (row number, cells)."""

    format: str
    encoding: str
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    engine: str = ""


def _plausible_gb18030(text: str) -> bool:
    """GB18030 decodes many byte strings; Latin-1 or Windows-1252 text often decodes as rare
    characters. Accept only text whose non-ASCII characters are common CJK, CJK punctuation,
    full-width forms or general punctuation."""
    for char in text:
        code = ord(char)
        if code < 0x80:
            continue
        if (
            0x4E00 <= code <= 0x9FFF
            or 0x3400 <= code <= 0x4DBF
            or 0x3000 <= code <= 0x303F
            or 0xFF00 <= code <= 0xFFEF
            or 0x2000 <= code <= 0x206F
            or code in (0x00B7, 0x00D7, 0x2116)
        ):
            continue
        return False
    return True


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030'; FileRefused otherwise."""
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused(
            _("The file is in UTF-16. Save it as CSV in UTF-8 (or GB18030) and try again.")
        )
    else:
        encoding = ""
    for candidate in [encoding] if encoding else ["utf-8", "gb18030"]:
        try:
            text = codecs.getincrementaldecoder(candidate)().decode(sample, final=complete)
        except UnicodeDecodeError:
            continue
        if candidate == "gb18030" and not _plausible_gb18030(text):
            continue
        return candidate
    raise FileRefused(
        _(
            "The file is not text in UTF-8 or GB18030 (for example it is in Latin-1 or another "
            "encoding). Save it as CSV in UTF-8 and try again."
        )
    )


def _refuse_binary(sample: bytes) -> None:
    kind = filetype.guess(sample)
    if kind is not None:
        raise FileRefused(
            _("This is a %(type)s file (%(mime)s), not a CSV or XLSX spreadsheet.")
            % {"type": kind.extension.upper(), "mime": kind.mime}
        )
    if b"\x00" in sample:
        raise FileRefused(_("This is a binary file, not a CSV or XLSX spreadsheet."))


def _cell(value: Any) -> Any:
    """A spreadsheet cell as import code wants it: text, or a date for date cells."""
    if value is None:
        return ""
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date()
        return value
    return value


def _blank(cells: list[Any]) -> bool:
    return all(cell == "" or cell is None for cell in cells)


class _Borrowed(io.RawIOBase):
    """A read-only view of the caller's stream. A TextIOWrapper closes the stream under it
    when it is closed or garbage collected; wrapped around this view, it leaves the caller's
    stream open (an import job reads its upload twice: checking pass, then writing pass)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv_table(stream: IO[bytes], sample: bytes) -> Table:
    encoding = detect_encoding(sample, complete=len(sample) < SAMPLE_BYTES)
    stream.seek(0)
    text = io.TextIOWrapper(
        io.BufferedReader(_Borrowed(stream)), encoding=encoding, newline="", errors="strict"
    )
    reader = csv.reader(text)
    line = 0
    try:
        headers = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileRefused(_("The header row cannot be read: %(error)s") % {"error": exc}) from None
    if headers is None:
        raise FileRefused(_("The file is empty."))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        nonlocal line
        number = 1
        try:
            for record in reader:
                number += 1
                if not record or _blank(record):
                    continue
                yield number, [restore(cell) for cell in record]
        except UnicodeDecodeError:
            raise FileRefused(
                _(
                    "Row %(row)s is not in the file's encoding (%(encoding)s): the file mixes "
                    "encodings. Save it as CSV in UTF-8 and try again."
                )
                % {"row": number + 1, "encoding": encoding.upper()}
            ) from None
        except csv.Error as exc:
            raise FileRefused(
                _("Row %(row)s cannot be read: %(error)s") % {"row": number + 1, "error": exc}
            ) from None

    return Table(FileFormat.CSV, encoding, [restore(str(h)) for h in headers], rows(), engine="csv")


def _sheet_size(stream: IO[bytes]) -> int:
    """Uncompressed size of the first worksheet's XML (0 when unknown)."""
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            sizes = [
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            ]
    except zipfile.BadZipFile:
        raise FileRefused(_("The file is a damaged or incomplete ZIP/XLSX file.")) from None
    finally:
        stream.seek(0)
    return max(sizes) if sizes else 0


def _calamine_rows(stream: IO[bytes]) -> Iterator[list[Any]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(stream)
        if not workbook.sheet_names:
            raise FileRefused(_("The workbook has no sheet."))
        sheet = workbook.get_sheet_by_index(0)
        yield from sheet.iter_rows()
    except (CalamineError, ValueError) as exc:
        if isinstance(exc, FileRefused):
            raise
        raise FileRefused(
            _("The file is not a readable XLSX workbook: %(error)s") % {"error": exc}
        ) from None
    except Exception as exc:  # python-calamine raises its own exception types per format
        if type(exc).__module__.startswith("python_calamine"):
            raise FileRefused(
                _("The file is not a readable XLSX workbook: %(error)s") % {"error": exc}
            ) from None
        raise


def _openpyxl_rows(stream: IO[bytes]) -> Iterator[list[Any]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise FileRefused(
            _("The file is not a readable XLSX workbook: %(error)s") % {"error": exc}
        ) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


# Every part calamine or openpyxl loads whole (shared strings, styles, the workbook) is capped
# at 64 MiB unpacked; a worksheet, which openpyxl streams when it is over
# CALAMINE_MAX_SHEET_BYTES, at 1 GiB; all parts together at 1.5 GiB and, past 32 MiB, at 200
# times the file's size (real workbooks compress 5-20 times). See cpms.core.zipguard.
XLSX_LIMITS = ZipLimits(streamed=_worksheet)


def _guard(stream: IO[bytes]) -> None:
    """Refuse a ZIP bomb before calamine or openpyxl parses anything."""
    try:
        check_archive(stream, XLSX_LIMITS)
    except ArchiveRefused as exc:
        raise FileRefused(exc.message) from None
    except (zipfile.BadZipFile, OSError, EOFError):
        raise FileRefused(_("The file is a damaged or incomplete ZIP/XLSX file.")) from None


def _xlsx_table(stream: IO[bytes], *, engine: str | None = None, guarded: bool = True) -> Table:
    if guarded:
        _guard(stream)
    if engine is None:
        engine = "calamine" if _sheet_size(stream) <= CALAMINE_MAX_SHEET_BYTES else "openpyxl"
    stream.seek(0)
    source = _calamine_rows(stream) if engine == "calamine" else _openpyxl_rows(stream)
    headers: list[str] | None = None
    number = 0
    for raw in source:
        number += 1
        cells = [_cell(value) for value in raw]
        if not _blank(cells):
            headers = [str(cell).strip() for cell in cells]
            break
    if headers is None:
        raise FileRefused(_("The file is empty."))
    while headers and headers[-1] == "":
        headers.pop()
    header_row = number

    def rows() -> Iterator[tuple[int, list[Any]]]:
        row_number = header_row
        for raw in source:
            row_number += 1
            cells = [_cell(value) for value in raw]
            if _blank(cells):
                continue
            yield row_number, cells

    return Table(FileFormat.XLSX, "", headers, rows(), engine=engine)


def _legacy_table(stream: IO[bytes]) -> Table:
    """A legacy XLS (OLE2) workbook: not a ZIP, read by calamine."""
    return _xlsx_table(stream, engine="calamine", guarded=False)


def open_table(stream: IO[bytes], filename: str = "", *, engine: str | None = None) -> Table:
    """Open the first sheet of an uploaded spreadsheet (a seekable binary stream)."""
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    if not sample:
        raise FileRefused(_("The file is empty."))
    if sample.startswith(ZIP_MAGIC):
        return _xlsx_table(stream, engine=engine)
    if sample.startswith(OLE2_MAGIC):
        stream.seek(0)
        return _legacy_table(stream)
    _refuse_binary(sample)
    return _csv_table(stream, sample)


def format_for(filename: str) -> str:
    """CSV or XLSX by the extension of a file to write."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        return FileFormat.XLSX
    if lower.endswith(".csv"):
        return FileFormat.CSV
    raise FileRefused(
        _("Give a file name ending in .csv or .xlsx (got %(name)s).") % {"name": filename}
    )
