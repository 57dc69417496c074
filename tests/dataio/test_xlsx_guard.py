"""XLSX ZIP bombs are refused before parsing (issue 10, item 4): every part's uncompressed size,
the total and the compression ratio are checked, a part whose data inflates to more than it
declares is refused, and the stored messages are short."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core import zipguard
from cpms.customers.models import Customer
from cpms.dataio.samples import customer_rows
from cpms.dataio.services import MAX_MESSAGE_CHARS, data_import
from tests.dataio.conftest import ENGLISH, rows_from, xlsx_bytes

MIB = 1024 * 1024
EMPTY_SHARED_STRINGS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" '
    b'uniqueCount="0"></sst>'
)


def workbook_with(part: str, size: int) -> bytes:
    """A valid small workbook whose `part` is padded with an XML comment of `size` bytes (so
    it still parses: without the guard, the import goes through after loading it all)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(ENGLISH, rows_from(customer_rows(2)))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info.filename, source.read(info.filename))
        names = source.namelist()
        original = source.read(part) if part in names else EMPTY_SHARED_STRINGS
        cut = original.rindex(b"</")
        with target.open(part, "w") as stream:
            stream.write(original[:cut] + b"<!--")
            piece = b"a" * MIB
            for _ in range(size // MIB):
                stream.write(piece)
            stream.write(b"-->" + original[cut:])
    return out.getvalue()


def run(rm1, content: bytes, name: str = "c.xlsx"):
    return data_import(actor=rm1, dataset="customers", stream=io.BytesIO(content), filename=name)


def test_xlsx_import__huge_shared_strings_part_is_refused_before_parsing(rm1):
    content = workbook_with("xl/sharedStrings.xml", 70 * MIB)
    assert len(content) < 1 * MIB

    started = time.perf_counter()
    report = run(rm1, content)

    assert time.perf_counter() - started < 20
    assert not report.accepted
    assert "xl/sharedStrings.xml" in report.message
    assert "64.0 MiB" in report.message
    assert Customer.objects.count() == 0
    rejected = AuditEntry.objects.get(action=AuditAction.IMPORT_REJECTED)
    assert rejected.after["errors"] == 1


def test_xlsx_import__a_sheet_that_unpacks_hundreds_of_times_its_size_is_refused(rm1):
    content = workbook_with("xl/worksheets/sheet1.xml", 100 * MIB)

    report = run(rm1, content)

    assert not report.accepted
    assert "ZIP bomb" in report.message
    assert Customer.objects.count() == 0


def _lie_about_size(content: bytes, part: str, declared: int) -> bytes:
    """Patch the local and central headers of `part` to declare `declared` bytes."""
    data = bytearray(content)
    name = part.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack("<H", data[central + 28 : central + 30])[0]
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, declared)
            local = struct.unpack("<I", data[central + 42 : central + 46])[0]
            struct.pack_into("<I", data, local + 22, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def test_check_archive__a_part_inflating_past_its_declared_size_is_refused():
    content = _lie_about_size(
        workbook_with("xl/sharedStrings.xml", 8 * MIB), "xl/sharedStrings.xml", 1000
    )
    with pytest.raises(zipguard.ArchiveRefused, match="does not unpack to the size it declares"):
        zipguard.check_archive(io.BytesIO(content))


def test_check_archive__a_normal_workbook_passes():
    zipguard.check_archive(io.BytesIO(xlsx_bytes(ENGLISH, rows_from(customer_rows(50)))))


def test_import__a_megabyte_header_is_stored_short(rm1):
    header = ",".join(f"unknown column {index}" for index in range(60_000))
    report = run(rm1, (header + "\n1,2\n").encode(), "c.csv")

    assert not report.accepted
    assert len(report.message) <= MAX_MESSAGE_CHARS
    assert all(len(error["message"]) <= MAX_MESSAGE_CHARS for error in report.errors)
    rejected = AuditEntry.objects.get(action=AuditAction.IMPORT_REJECTED)
    assert len(rejected.after["message"]) <= 500
