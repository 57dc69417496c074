"""What a file is, decided from its bytes, never from its name or the browser's label.

`sniff(head)` recognises the accepted kinds (PDF, PNG, JPEG, TIFF, Word .docx, Excel .xlsx,
UTF-8 plain text and CSV) and refuses everything else with a clear message; `HashingReader`
streams a file to storage while computing its SHA-256 and size, enforcing the size limit and
(for text) that every byte is valid UTF-8."""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import filetype
from django.core.files import File
from django.utils.translation import gettext as _

from cpms.documents.errors import FileMislabelled, FileTooLarge, FileTypeRefused

HEAD_BYTES = 8192
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Kind:
    content_type: str
    extension: str
    label: str

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith("text/")


PDF = Kind("application/pdf", "pdf", "PDF")
PNG = Kind("image/png", "png", "PNG")
JPEG = Kind("image/jpeg", "jpg", "JPEG")
TIFF = Kind("image/tiff", "tif", "TIFF")
DOCX = Kind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "Word"
)
XLSX = Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel")
TEXT = Kind("text/plain", "txt", "text")
CSV = Kind("text/csv", "csv", "CSV")
ACCEPTED: tuple[Kind, ...] = (PDF, PNG, JPEG, TIFF, DOCX, XLSX, TEXT, CSV)
BY_CONTENT_TYPE = {kind.content_type: kind for kind in ACCEPTED}
_BY_FILETYPE_MIME = {kind.content_type: kind for kind in (PDF, PNG, JPEG, TIFF)}

# A name ending like this claims to be that kind; content of another kind is mislabelled.
# (Other endings, such as .exe or none, claim nothing: the content decides.)
NAME_CLAIMS: dict[str, tuple[Kind, ...]] = {
    "pdf": (PDF,),
    "png": (PNG,),
    "jpg": (JPEG,),
    "jpeg": (JPEG,),
    "jpe": (JPEG,),
    "tif": (TIFF,),
    "tiff": (TIFF,),
    "docx": (DOCX,),
    "xlsx": (XLSX,),
    "txt": (TEXT, CSV),
    "text": (TEXT, CSV),
    "csv": (CSV, TEXT),
    "tsv": (CSV, TEXT),
}

_ZIP_MAGIC = b"PK\x03\x04"
_MARKUP = re.compile(
    rb"<\s*(!doctype|html|head|body|script|iframe|object|embed|svg|meta|link|form|style)\b"
    rb"|<\?(xml|php)|<%|javascript:",
    re.IGNORECASE,
)
# control characters plain text does not contain (tab, line feed, form feed, CR and ESC allowed)
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def accepted_labels() -> str:
    return "PDF, PNG, JPEG, TIFF, Word (.docx), Excel (.xlsx), " + _("plain text or CSV (UTF-8)")


def _refuse_kind(what: str) -> FileTypeRefused:
    return FileTypeRefused(
        _("%(what)s files are not accepted. Accepted: %(accepted)s.")
        % {"what": what, "accepted": accepted_labels()}
    )


def sniff(head: bytes) -> Kind:
    """The accepted kind `head` (the first bytes of a file) starts, or FileTypeRefused.
    Office files are only recognised as zip here; `check_office` decides which one."""
    if not head:
        raise FileTypeRefused(_("The file is empty."))
    if head.startswith(_ZIP_MAGIC):
        return DOCX  # provisional: check_office() opens the archive and decides
    guess = filetype.guess(head)
    if guess is not None:
        kind = _BY_FILETYPE_MIME.get(guess.mime)
        if kind is not None:
            return kind
        if guess.extension in ("elf", "exe", "wasm", "swf", "crx", "nes", "deb", "rpm"):
            raise _refuse_kind(_("Executable"))
        if guess.extension in ("zip", "tar", "rar", "gz", "bz2", "7z", "xz", "lz", "lz4", "zst"):
            raise _refuse_kind(_("Archive"))
        raise _refuse_kind(guess.extension.upper())
    for magic in (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa"):
        if head.startswith(magic):
            raise _refuse_kind(_("Executable"))
    return _sniff_text(head)


def _sniff_text(head: bytes) -> Kind:
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    if _BINARY.search(body):
        raise FileTypeRefused(
            _("The file's type could not be recognised from its content. Accepted: %(accepted)s.")
            % {"accepted": accepted_labels()}
        )
    # the head may end inside a multi-byte character: decode what is complete
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        raise FileTypeRefused(
            _("Text files must be encoded in UTF-8; convert the file and upload it again.")
        ) from None
    if text.lstrip().startswith("#!"):
        raise _refuse_kind(_("Script"))
    if _MARKUP.search(body):
        raise _refuse_kind(_("HTML, XML and other markup"))
    return CSV if _looks_like_csv(text) else TEXT


def _looks_like_csv(text: str) -> bool:
    """Two or more lines with the same number (at least one) of one delimiter."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) > 2:
        lines = lines[:-1]  # the head may end in the middle of the last line
    if len(lines) < 2:
        return False
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return False
    counts = {line.count(dialect.delimiter) for line in lines}
    return len(counts) == 1 and counts != {0}


def check_office(source: IO[bytes]) -> Kind:
    """Word or Excel for a zip archive that is one (and carries no macros); refused otherwise.
    Leaves `source` at its start."""
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        names = set()
    finally:
        source.seek(0)
    if "[Content_Types].xml" in names:
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise FileTypeRefused(
                _("Office files with macros are not accepted; save it as .docx or .xlsx.")
            )
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    raise _refuse_kind(_("Archive"))


def check_name(original_name: str, kind: Kind) -> None:
    """Refuse a file whose name claims an accepted kind its content is not."""
    extension = os.path.splitext(original_name or "")[1].lower().lstrip(".")
    claimed = NAME_CLAIMS.get(extension)
    if claimed is not None and kind not in claimed:
        raise FileMislabelled(
            _(
                "The file is named as %(claimed)s but its content is %(actual)s; "
                "rename it or upload the right file."
            )
            % {"claimed": claimed[0].label, "actual": kind.label}
        )


def clean_name(original_name: str) -> str:
    """The file name as given, without any directory part, for display only."""
    name = os.path.basename((original_name or "").replace("\\", "/")).strip()
    return re.sub(r"[\x00-\x1f\x7f]", "", name)[:255]


def download_name(original_name: str, kind: Kind, fallback: str) -> str:
    """The name offered on download: the original stem with the detected kind's extension."""
    stem = os.path.splitext(clean_name(original_name))[0] or clean_name(fallback) or "document"
    return f"{stem[:200]}.{kind.extension}"


class HashingReader(File):
    """A file for `Storage.save` that hashes and counts what storage reads, stopping at `limit`
    bytes and (for text) at the first byte that is not UTF-8 or is a control character."""

    def __init__(self, source: Any, *, name: str, limit: int, text: bool) -> None:
        super().__init__(source, name=name)
        self.limit = limit
        self.text = text
        self.digest = hashlib.sha256()
        self.bytes_read = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.file.seek(0)
        first = True
        while True:
            chunk = self.file.read(chunk_size or CHUNK_BYTES)
            if not chunk:
                break
            self.bytes_read += len(chunk)
            if self.bytes_read > self.limit:
                raise too_large(self.limit)
            self.digest.update(chunk)
            if self.text:
                bom = first and chunk.startswith(codecs.BOM_UTF8)
                self._check_text(chunk[3:] if bom else chunk)
            first = False
            yield chunk
        if self.text:
            self._check_text(b"", final=True)

    def _check_text(self, chunk: bytes, *, final: bool = False) -> None:
        if _BINARY.search(chunk):
            raise FileTypeRefused(_("The text file contains binary data."))
        try:
            self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            raise FileTypeRefused(
                _("Text files must be encoded in UTF-8; convert the file and upload it again.")
            ) from None


def too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(
        _("The file is larger than the limit of %(limit)s MiB.")
        % {"limit": f"{limit / (1024 * 1024):g}"}
    )


def hash_file(handle: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of an open file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
