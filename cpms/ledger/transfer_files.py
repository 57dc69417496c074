"""Files of transfers for `cpms ledger post`: CSV (header row) or JSON lines, one transfer per
row, read and checked against `TransferIn` before anything is posted.

A file that cannot be taken raises `TransferFileRefused`: either one message (unreadable,
unknown columns, no rows) or one problem per row and field, each naming the file line
("line 3: amount_minor: ..."). Nothing here writes; `services.transfer_file_post` posts."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from django.utils.translation import gettext as _

from cpms.core.types import integer_text
from cpms.ledger.schemas import TransferIn

TRANSFER_FIELDS = tuple(TransferIn.model_fields)
FORMATS = ("csv", "jsonl")


class TransferFileRefused(Exception):
    """The file is refused as a whole: `message` says so, `problems` (when given) lists one
    line per row and field."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


def refused(problems: Sequence[str]) -> TransferFileRefused:
    """The refusal of a file with row problems: nothing was posted."""
    return TransferFileRefused(
        _("The file was refused (%(count)s problem(s)); nothing was posted.")
        % {"count": len(problems)},
        problems,
    )


@dataclass(frozen=True)
class TransferRow:
    """One transfer of the file and the file line it came from."""

    line: int
    item: TransferIn


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise TransferFileRefused(_("No such file: %(path)s") % {"path": path})
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TransferFileRefused(
            _("%(path)s: cannot be read as UTF-8 text (%(error)s).") % {"path": path, "error": exc}
        ) from exc


def _csv_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    """(line, raw item) per CSV record: empty cells left out, amounts and metadata turned from
    text into what the schema takes."""
    reader = csv.DictReader(io.StringIO(text))
    unknown = [name for name in reader.fieldnames or [] if name not in TRANSFER_FIELDS]
    if not reader.fieldnames or unknown:
        raise TransferFileRefused(
            f"{path}: line 1: unknown column(s) {', '.join(unknown) or '(none)'}; "
            f"use: {', '.join(TRANSFER_FIELDS)}."
        )
    rows: list[tuple[int, Any]] = []
    for record in reader:
        item = {key: value for key, value in record.items() if value not in ("", None)}
        if "amount_minor" in item:  # CSV has only text; the schema is strict
            item["amount_minor"] = integer_text(item["amount_minor"])
        if item.get("metadata"):
            # text that is not JSON is reported by validation as not a dict
            with contextlib.suppress(json.JSONDecodeError):
                item["metadata"] = json.loads(item["metadata"])
        rows.append((reader.line_num, item))
    return rows


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, Any]]:
    """(line, parsed JSON) per non-blank line."""
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise TransferFileRefused(
                _("%(path)s: line %(line)s: not JSON (%(error)s).")
                % {"path": path, "line": number, "error": exc.msg}
            ) from exc
    return rows


def _validated(rows: list[tuple[int, Any]]) -> list[TransferRow]:
    """Every row as a `TransferIn`, or every problem of every row at once."""
    valid: list[TransferRow] = []
    problems: list[str] = []
    for number, raw in rows:
        if not isinstance(raw, dict):
            problems.append(f"line {number}: each transfer must be an object")
            continue
        try:
            valid.append(TransferRow(number, TransferIn.model_validate(raw)))
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error.get("loc", ())) or "-"
                problems.append(f"line {number}: {where}: {error.get('msg', 'invalid')}")
    if problems:
        raise refused(problems)
    return valid


def transfer_file_read(path: Path, fmt: str | None = None) -> list[TransferRow]:
    """The transfers of the file at `path` (`fmt` csv or jsonl; by default from the suffix:
    .csv is CSV, anything else JSON lines), each checked against `TransferIn`."""
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    text = _read_text(path)
    rows = _csv_rows(path, text) if fmt == "csv" else _jsonl_rows(path, text)
    if not rows:
        raise TransferFileRefused(_("%(path)s: no transfers in the file.") % {"path": path})
    return _validated(rows)
