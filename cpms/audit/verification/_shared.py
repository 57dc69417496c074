"""What every part of the verification shares: the result (`VerifyResult` with its
`Problem`s), how problems name entries and where a late one is placed, and the two encodings
the entry hash depends on (canonical JSON, `created_at` in UTC ISO 8601)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CHUNK = 5000  # rows fetched at a time from the streaming cursors


@dataclass(frozen=True)
class Problem:
    """One finding: its kind (edited, deleted, inserted, reordered, truncated, unsealed, node,
    checkpoint, witness), a sentence naming what and where, and the entry, sequence or
    checkpoints concerned."""

    kind: str
    message: str
    entry_id: int | None = None
    sequence: int | None = None
    checkpoints: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "entry_id": self.entry_id,
            "sequence": self.sequence,
            "checkpoints": list(self.checkpoints),
        }


@dataclass
class VerifyResult:
    """Figures of one verification and its problems, entry-level problems first."""

    entries: int = 0
    tree_size: int = 0
    root_hash: str = ""
    checkpoints: int = 0
    unsealed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    witnessed: int | None = None  # checkpoints read from the witness file, when one was given

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_entry_problem(self) -> Problem | None:
        return next((p for p in self.problems if p.kind != "checkpoint"), None)

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoints": self.checkpoints,
            "unsealed": self.unsealed,
            "witnessed": self.witnessed,
            "problems": [problem.as_dict() for problem in self.problems[:20]],
        }


_C_ENCODER = json.encoder.c_make_encoder  # the C encoder behind json.dumps, built once
if _C_ENCODER is None:  # pragma: no cover (CPython always has it)
    _ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
else:
    _encode_parts = _C_ENCODER(
        None,  # no circular-reference markers: rows hold only decoded JSON and scalars
        lambda value: json.JSONEncoder().default(value),
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        True,  # sort_keys
        False,
        True,
    )

    def _ENCODE(payload: dict[str, Any]) -> str:
        return "".join(_encode_parts(payload, 0))


def _iso_time(value: Any) -> str:
    """created_at as the entry hash has it: ISO 8601 in UTC. SQLite gives Django's stored UTC
    time back naive (or as text), PostgreSQL aware."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " ":  # Django's own format, the common case
            return f"{value[:10]}T{value[11:]}+00:00"
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC).isoformat()
    return value.astimezone(UTC).isoformat()


_DECODE = json.JSONDecoder().decode  # before and after: the stored JSON text


def _entry_hash(created_text: str, fields: Sequence[Any]) -> bytes:
    """SHA-256 of an entry's canonical JSON: `created_text` is created_at as `_iso_time` gives
    it, `fields` the other payload columns in ENTRY_COLUMNS order (before and after as stored
    JSON text). The stored entry hash is its hex form; the leaf hash is built on these bytes.
    One function for the pass over every leaf and for the unsealed entries."""
    (
        actor_id,
        actor_name,
        actor_roles,
        channel,
        ip,
        user_agent,
        request_id,
        action,
        object_type,
        object_id,
        before,
        after,
        reason,
    ) = fields
    payload = {
        "created_at": created_text,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "actor_roles": actor_roles,
        "channel": channel,
        "ip": ip,
        "user_agent": user_agent,
        "request_id": request_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "before": None if before is None else _DECODE(before),
        "after": None if after is None else _DECODE(after),
        "reason": reason,
    }
    return hashlib.sha256(_ENCODE(payload).encode()).digest()


def _describe(entry_id: int | None) -> str:
    """An entry as a problem names it; none is the start of the log."""
    return f"entry #{entry_id}" if entry_id is not None else "the start of the log"


def _place(result: VerifyResult, problem: Problem) -> None:
    """An entry-level problem found after the stream: first when it is the only one, after the
    others otherwise."""
    result.problems.insert(
        0 if result.first_entry_problem is None else len(result.problems), problem
    )
