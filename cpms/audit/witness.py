"""The external witness of checkpoints: an append-only file outside the database.

After the transaction that signs a checkpoint commits, the sealer appends the checkpoint to the
file named by CPMS_AUDIT_WITNESS_FILE as one JSON line:

    {"id":7,"key_id":"…","root_hash":"…","signature":"…","time":"2026-…Z","tree_size":1234}

`cpms audit verify --witness FILE` compares the database's checkpoints with the file (and the
log with every root in it): someone who can rewrite the database, even with the master key,
cannot make it agree with copies of the file kept elsewhere (another host, write-once storage,
`chattr +a`, a mail archive). See docs/security.md, "Audit trail threat model".
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from cpms.audit import signing

logger = logging.getLogger(__name__)

FIELDS = ("id", "tree_size", "root_hash", "time", "key_id", "signature")


class WitnessUnreadable(Exception):
    """The witness file cannot be read."""


@dataclass(frozen=True)
class WitnessRecord:
    line: int
    checkpoint_id: int
    tree_size: int
    root_hash: str
    time: str
    key_id: str
    signature: str

    def signed_message(self) -> bytes:
        header = signing.MESSAGE_HEADER
        return f"{header}\n{self.tree_size}\n{self.root_hash}\n{self.time}\n".encode()


def configured_path() -> Path | None:
    value = getattr(settings, "CPMS_AUDIT_WITNESS_FILE", None)
    return Path(value) if value else None


def record_of(checkpoint: Any) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "time": signing.format_time(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def line_of(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()


def append(path: Path, record: dict[str, Any]) -> None:
    """One write(2) of one line with O_APPEND (lines of concurrent writers never interleave),
    then fsync; the file is created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line_of(record))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def append_safely(path: Path, record: dict[str, Any]) -> None:
    """After commit: a witness that cannot be written is logged, never undoes the checkpoint."""
    try:
        append(path, record)
    except OSError:
        logger.exception("audit witness: checkpoint #%s not appended to %s", record["id"], path)


def _parse(number: int, text: str) -> WitnessRecord | None:
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != set(FIELDS):
            return None
        record = WitnessRecord(
            line=number,
            checkpoint_id=data["id"],
            tree_size=data["tree_size"],
            root_hash=data["root_hash"],
            time=data["time"],
            key_id=data["key_id"],
            signature=data["signature"],
        )
    except ValueError:
        return None
    numbers_ok = all(
        type(value) is int and value >= 0 for value in (record.checkpoint_id, record.tree_size)
    )
    texts_ok = all(
        isinstance(value, str)
        for value in (record.root_hash, record.time, record.key_id, record.signature)
    )
    return record if numbers_ok and texts_ok else None


def read(path: Path | str) -> list[tuple[int, WitnessRecord | None]]:
    """(line number, record or None when the line is not a checkpoint record); blank lines are
    skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WitnessUnreadable(f"cannot read the witness file {path}: {exc}") from exc
    return [
        (number, _parse(number, line))
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
