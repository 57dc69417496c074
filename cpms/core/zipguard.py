"""A guard against ZIP bombs for every reader of ZIP containers (XLSX, DOCX, ...).

`check_archive(stream, limits)` looks at every member before anything parses the archive: the
number of members, each member's uncompressed size (parts a parser loads whole get a smaller
limit than parts it streams), the total, and the ratio of the total to the file's size. It
then inflates each member in 1 MiB pieces (memory stays bounded), without keeping anything, to
make sure the sizes the archive declares are the sizes its data inflates to: a member whose
data inflates to more than it declares is refused too (a parser that trusts the data would
otherwise run past the limits). Refusals raise `ArchiveRefused` with a message that names the
member and the limit, in the user's language.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed

MIB = 1024 * 1024
CHUNK = MIB
_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30


class ArchiveRefused(ValidationFailed):
    code = "archive_refused"

    def default_message(self) -> str:
        return _("The file is not an acceptable ZIP archive.")


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 10_000
    max_member_bytes: int = 64 * MIB  # a part that is loaded whole (shared strings, styles)
    max_streamed_member_bytes: int = 1024 * MIB  # a part that is read piece by piece
    max_total_bytes: int = 1536 * MIB
    max_ratio: int = 200  # uncompressed total / file size, once the total is over ratio_floor
    ratio_floor_bytes: int = 32 * MIB
    streamed: Callable[[str], bool] = lambda name: False


def _size_text(size: int) -> str:
    return f"{size / MIB:,.1f} MiB"


def _inflated_size(stream: IO[bytes], info: zipfile.ZipInfo, limit: int) -> int:
    """Bytes the member's data really inflates to (stopping just past `limit`)."""
    stream.seek(info.header_offset)
    header = stream.read(_LOCAL_HEADER_SIZE)
    if len(header) != _LOCAL_HEADER_SIZE or not header.startswith(_LOCAL_HEADER):
        raise zipfile.BadZipFile("bad local header")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    stream.seek(info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise ArchiveRefused(
            _("The part %(name)s uses a compression method that is not accepted.")
            % {"name": info.filename[:100]}
        )
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    remaining = info.compress_size
    total = 0
    while remaining > 0 and not inflater.eof and total <= limit:
        chunk = stream.read(min(CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
        total += len(inflater.decompress(chunk, CHUNK))
        while inflater.unconsumed_tail and total <= limit:
            total += len(inflater.decompress(inflater.unconsumed_tail, CHUNK))
    return total


def check_archive(stream: IO[bytes], limits: ZipLimits | None = None) -> None:
    """Refuse a ZIP bomb before it is parsed (see the module's docstring). The stream is
    rewound. Raises `ArchiveRefused`, or `zipfile.BadZipFile` for a damaged archive."""
    limits = limits or ZipLimits()
    stream.seek(0, 2)
    file_size = max(stream.tell(), 1)
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                raise ArchiveRefused(
                    _("The file holds %(count)s parts; at most %(max)s are accepted.")
                    % {"count": len(members), "max": limits.max_members}
                )
            total = 0
            for info in members:
                limit = (
                    limits.max_streamed_member_bytes
                    if limits.streamed(info.filename)
                    else limits.max_member_bytes
                )
                if info.file_size > limit:
                    raise ArchiveRefused(
                        _(
                            "The part %(name)s unpacks to %(size)s; at most %(max)s are "
                            "accepted. Split the data into smaller files."
                        )
                        % {
                            "name": info.filename[:100],
                            "size": _size_text(info.file_size),
                            "max": _size_text(limit),
                        }
                    )
                total += info.file_size
            if total > limits.max_total_bytes or (
                total > limits.ratio_floor_bytes and total > limits.max_ratio * file_size
            ):
                raise ArchiveRefused(
                    _(
                        "The file unpacks to %(size)s, %(ratio)s times its own size; this "
                        "looks like a ZIP bomb and is not read."
                    )
                    % {"size": _size_text(total), "ratio": f"{total // file_size:,}"}
                )
            for info in members:
                if info.is_dir():
                    continue
                inflated = _inflated_size(stream, info, info.file_size)
                if inflated != info.file_size:
                    raise ArchiveRefused(
                        _("The part %(name)s does not unpack to the size it declares.")
                        % {"name": info.filename[:100]}
                    )
    except zlib.error as exc:
        raise zipfile.BadZipFile(str(exc)) from None
    finally:
        stream.seek(0)
