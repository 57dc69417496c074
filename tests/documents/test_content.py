"""What a file is, from its bytes: the allow-list, refusals and mislabelled names."""

from __future__ import annotations

import io

import pytest

from cpms.documents import content
from cpms.documents.errors import FileMislabelled, FileTooLarge, FileTypeRefused
from tests.documents.conftest import (
    CSV,
    ELF,
    EXE,
    HTML,
    JPEG,
    PDF,
    PNG,
    TEXT,
    TIFF,
    docx,
    office,
    plain_zip,
    xlsx,
)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, content.PDF),
        (PNG, content.PNG),
        (JPEG, content.JPEG),
        (TIFF, content.TIFF),
        (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 20, content.TIFF),
        (TEXT, content.TEXT),
        (b"\xef\xbb\xbf" + TEXT, content.TEXT),
        (CSV, content.CSV),
        (b"a;b;c\n1;2;3\n4;5;6\n", content.CSV),
    ],
)
def test_sniff__accepted_kinds(data, kind):
    assert content.sniff(data[: content.HEAD_BYTES]) == kind


def test_check_office__word_and_excel_by_their_parts():
    assert content.check_office(io.BytesIO(docx())) == content.DOCX
    assert content.check_office(io.BytesIO(xlsx())) == content.XLSX


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (ELF, "Executable files are not accepted."),
        (EXE, "Executable files are not accepted."),
        (HTML, "HTML, XML and other markup files are not accepted."),
        (b"  <svg onload=alert(1)></svg>", "HTML, XML and other markup files are not accepted."),
        (b"#!/bin/sh\nrm -rf /\n", "Script files are not accepted."),
        (b"GIF89a" + b"\x00" * 20, "GIF files are not accepted."),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "Archive files are not accepted."),
        ("plain text".encode("utf-16"), "could not be recognised from its content"),
        ("文本".encode("gb18030"), "must be encoded in UTF-8"),
    ],
)
def test_sniff__refused_with_a_clear_message(data, message):
    with pytest.raises(FileTypeRefused) as caught:
        content.sniff(data)

    assert message in caught.value.message
    assert caught.value.fields == {"file": caught.value.message}


def test_check_office__plain_zip_and_macros_refused():
    with pytest.raises(FileTypeRefused, match="Archive files are not accepted"):
        content.check_office(io.BytesIO(plain_zip()))
    with pytest.raises(FileTypeRefused, match="macros"):
        content.check_office(io.BytesIO(office("word/document.xml", "word/vbaProject.bin")))


def test_check_name__a_name_claiming_another_accepted_kind_is_mislabelled():
    content.check_name("scan.exe", content.PDF)  # claims nothing: the content decides
    content.check_name("list.txt", content.CSV)
    content.check_name("noextension", content.PNG)

    with pytest.raises(FileMislabelled) as caught:
        content.check_name("photo.PNG", content.PDF)

    assert caught.value.code == "documents.file_mislabelled"
    assert caught.value.message == (
        "The file is named as PNG but its content is PDF; rename it or upload the right file."
    )


def test_hashing_reader__refuses_invalid_utf8_after_the_head():
    data = b"a,b\n" * 5000 + b"\xff\xfe broken"
    reader = content.HashingReader(io.BytesIO(data), name="x", limit=10**6, text=True)

    with pytest.raises(FileTypeRefused, match="UTF-8"):
        list(reader.chunks())


def test_hashing_reader__stops_at_the_limit():
    reader = content.HashingReader(io.BytesIO(b"x" * 100), name="x", limit=99, text=False)

    with pytest.raises(FileTooLarge):
        list(reader.chunks(chunk_size=10))


def test_download_name__keeps_the_stem_and_uses_the_detected_extension():
    assert content.download_name("C:\\scans\\合同.exe", content.PDF, "t") == "合同.pdf"
    assert content.download_name("", content.TEXT, "Note") == "Note.txt"
