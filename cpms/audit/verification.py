"""`cpms audit verify`: recompute the whole trail from stored content and compare.

One streaming pass over the leaves in sequence order (joined with their entries) recomputes
each entry hash from its fields, each leaf hash, every stored tile root and the root at every
checkpoint's size; then every checkpoint signature and the order of checkpoints is checked.
The first entry-level problem is classified and named:

- edited     the entry's content no longer gives its stored hash, or its leaf (content or
             hash rewritten consistently by someone without the tree)
- deleted    a sequence number is missing (an entry and its leaf removed), or the leaves after
             a point were renumbered down (each now carries the hash made for a later sequence)
- inserted   leaves after a point were renumbered up to make room for a foreign leaf
- reordered  two leaves traded places
- truncated  a checkpoint covers more leaves than remain
- unsealed   an entry with no leaf, created long before the latest checkpoint (back-dated)

Someone who rewrites entries, leaves and tile roots all consistently is still caught by the
signed checkpoints; then the report names the first checkpoint whose root no longer matches,
which bounds the damage to the leaves added after the previous checkpoint.
"""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from cpms.audit import merkle, signing, tree
from cpms.audit.models import ENTRY_COLUMNS as _ENTRY_COLUMNS
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode

CHUNK = 5000
SHIFT_SEARCH = 8  # how far a renumbered leaf is looked for


@dataclass(frozen=True)
class Problem:
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
    entries: int = 0
    tree_size: int = 0
    root_hash: str = ""
    checkpoints: int = 0
    unsealed: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

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


_LEAF_COLUMNS = ("sequence", "leaf_hash", "entry_id")


def _rows_sql() -> str:
    leaf, entry = AuditLeaf._meta.db_table, AuditEntry._meta.db_table
    columns = [f'l."{name}"' for name in _LEAF_COLUMNS]
    columns += [f'e."{name}"' for name in _ENTRY_COLUMNS]
    if connection.vendor == "sqlite":  # the stored text: no per-row datetime converter
        columns[3] = f"({columns[3]} || '')"
    return (
        f'SELECT {", ".join(columns)} FROM "{leaf}" l '  # noqa: S608 (names from the models)
        f'JOIN "{entry}" e ON e."id" = l."entry_id" ORDER BY l."sequence"'
    )


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


def _stream_rows() -> Iterator[tuple[Any, ...]]:
    """Leaves joined with their entries in sequence order, as raw tuples, CHUNK at a time
    (a server-side cursor on PostgreSQL)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_rows_sql())
        while True:
            rows = cursor.fetchmany(CHUNK)
            if not rows:
                return
            yield from rows


def _describe(entry_id: int | None) -> str:
    return f"entry #{entry_id}" if entry_id is not None else "the start of the log"


class _Scanner:
    """Finds and classifies the first entry-level problem while the stream continues."""

    def __init__(self, result: VerifyResult) -> None:
        self.result = result
        self.found = False
        # (sequence, entry id) of the last rows
        self.recent: deque[tuple[int, int]] = deque(maxlen=SHIFT_SEARCH)
        # (sequence, entry id, shift, id of the entry before it)
        self.pending: tuple[int, int, int, int | None] | None = None

    def report(self, kind: str, message: str, entry_id: int | None, sequence: int | None) -> None:
        if not self.found:
            self.found = True
            self.result.problems.append(Problem(kind, message, entry_id, sequence))

    def previous_id(self) -> int | None:
        return self.recent[-1][1] if self.recent else None

    def remember(self, sequence: int, entry_id: int) -> None:
        self.recent.append((sequence, entry_id))

    def leaf_mismatch(self, sequence: int, entry_id: int, digest: str, stored: bytes) -> None:
        if self.found:
            return
        shift = 0
        for distance in range(1, SHIFT_SEARCH + 1):
            if tree.entry_leaf_hash(sequence - distance, entry_id, digest) == stored:
                shift = distance  # moved later: something was put before it
                break
            if tree.entry_leaf_hash(sequence + distance, entry_id, digest) == stored:
                shift = -distance  # moved earlier: something before it was removed or swapped
                break
        if shift > 0:
            first_sequence = sequence - shift
            inserted = [eid for seq, eid in self.recent if seq >= first_sequence]
            first = inserted[0] if inserted else None
            self.report(
                "inserted",
                f"{_describe(first)} at sequence {first_sequence} was inserted: the leaves "
                f"after it were renumbered up by {shift} (first: entry #{entry_id})",
                first,
                first_sequence,
            )
        elif shift < 0:
            self.pending = (sequence, entry_id, shift, self.previous_id())
        else:
            self.report(
                "edited",
                f"entry #{entry_id} at sequence {sequence} does not match its sealed leaf",
                entry_id,
                sequence,
            )

    def resolve_pending(self, next_shift: int | None) -> None:
        """A leaf moved earlier by d: if the next one moved the same way, leaves were deleted
        and renumbered; otherwise two leaves traded places."""
        if self.pending is None or self.found:
            self.pending = None
            return
        sequence, entry_id, shift, before_id = self.pending
        self.pending = None
        if next_shift == shift:
            self.report(
                "deleted",
                f"{-shift} entr{'y' if shift == -1 else 'ies'} sealed at sequence {sequence} "
                f"were deleted and the later leaves renumbered: between "
                f"{_describe(before_id)} and entry #{entry_id}",
                before_id,
                sequence,
            )
        else:
            self.report(
                "reordered",
                f"entry #{entry_id} was moved from sequence {sequence - shift} to {sequence}",
                entry_id,
                sequence,
            )

    def shift_of(self, sequence: int, entry_id: int, digest: str, stored: bytes) -> int | None:
        for distance in range(1, SHIFT_SEARCH + 1):
            if tree.entry_leaf_hash(sequence + distance, entry_id, digest) == stored:
                return -distance
        return None


def audit_verify() -> VerifyResult:
    started = time.perf_counter()
    result = VerifyResult()
    checkpoints = list(
        AuditCheckpoint.objects.order_by("pk").values_list(
            "pk", "tree_size", "root_hash", "created_at", "key_id", "signature"
        )
    )
    result.checkpoints = len(checkpoints)
    wanted_sizes = {row[1] for row in checkpoints}
    roots_at: dict[int, str] = {}
    if 0 in wanted_sizes:
        roots_at[0] = merkle.EMPTY_ROOT.hex()

    scanner = _Scanner(result)
    state = tree.TreeState()
    expected_nodes: dict[tuple[int, int], bytes] = {}
    sha256 = hashlib.sha256
    encode = _ENCODE
    loads = json.JSONDecoder().decode
    iso_time = _iso_time
    pack = struct.Struct(">QQ").pack
    append = state.append
    remember = scanner.recent.append
    expected = 0
    for row in _stream_rows():
        (
            sequence,
            stored_leaf,
            entry_id,
            created_at,
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
            digest,
        ) = row
        stored_leaf = bytes(stored_leaf)
        if scanner.pending is not None:
            scanner.resolve_pending(scanner.shift_of(sequence, entry_id, digest, stored_leaf))
        if sequence != expected and not scanner.found:
            scanner.report(
                "deleted",
                f"sequence {expected}..{sequence - 1} missing: the entries sealed between "
                f"{_describe(scanner.previous_id())} and entry #{entry_id} were deleted",
                scanner.previous_id(),
                expected,
            )
        content = sha256(
            encode(
                {
                    "created_at": iso_time(created_at),
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
                    "before": None if before is None else loads(before),
                    "after": None if after is None else loads(after),
                    "reason": reason,
                }
            ).encode()
        ).digest()
        if content.hex() != digest and not scanner.found:
            scanner.report(
                "edited",
                f"entry #{entry_id} (sequence {sequence}) was edited: its content no longer "
                "matches its hash",
                entry_id,
                sequence,
            )
        leaf = sha256(b"\x00" + pack(sequence, entry_id) + content).digest()
        if leaf != stored_leaf and not scanner.found and content.hex() == digest:
            scanner.leaf_mismatch(sequence, entry_id, digest, stored_leaf)
        remember((sequence, entry_id))
        # the tree as it should be: built from the recomputed leaves
        for level, index, value in append(leaf):
            expected_nodes[(level, index)] = value
        expected = sequence + 1
        if state.size in wanted_sizes:
            roots_at[state.size] = state.root().hex()
    if scanner.pending is not None:
        scanner.resolve_pending(scanner.pending[2])  # the last leaves moved: a deletion
    result.entries = state.size
    result.tree_size = state.size
    result.root_hash = state.root().hex()
    _check_nodes(result, expected_nodes, state.size)
    _check_checkpoints(result, scanner, checkpoints, roots_at, state.size)
    _check_unsealed(result, checkpoints)
    result.seconds = time.perf_counter() - started
    return result


def _check_nodes(result: VerifyResult, expected: dict[tuple[int, int], bytes], size: int) -> None:
    stored = 0
    for level, index, value in AuditNode.objects.order_by("level", "index").values_list(
        "level", "index", "node_hash"
    ):
        stored += 1
        if expected.get((level, index)) != bytes(value):
            result.problems.append(
                Problem(
                    "node",
                    f"stored tree node level {level} index {index} does not match the leaves "
                    f"{index << level}..{((index + 1) << level) - 1}",
                    sequence=index << level,
                )
            )
            return
    if stored != len(expected):
        result.problems.append(
            Problem("node", f"{len(expected) - stored} stored tree node(s) are missing")
        )


def known_public_keys() -> dict[str, bytes]:
    """Public keys of the current and retired master keys, by key id."""
    masters = [bytes(settings.CPMS_MASTER_KEY)]
    masters += [bytes(key) for key in getattr(settings, "CPMS_MASTER_KEYS_RETIRED", []) or []]
    return dict(_public_keys_of(tuple(masters)))


@functools.lru_cache(maxsize=8)
def _public_keys_of(masters: tuple[bytes, ...]) -> tuple[tuple[str, bytes], ...]:
    keys = {}
    for master in masters:
        public = signing.public_key_bytes(signing.private_key_from_master(master))
        keys[signing.key_id(public)] = public
    return tuple(keys.items())


def _check_checkpoints(
    result: VerifyResult,
    scanner: _Scanner,
    checkpoints: list[tuple[Any, ...]],
    roots_at: dict[int, str],
    size: int,
) -> None:
    keys = known_public_keys()
    previous: tuple[Any, ...] | None = None
    previous_matches = True
    truncated_reported = False
    for pk, tree_size, root_hash, created_at, key_id, signature in checkpoints:
        public = keys.get(key_id)
        message = signing.checkpoint_message(tree_size, root_hash, created_at)
        if public is None or not signing.signature_valid(message, signature, public):
            result.problems.append(
                Problem(
                    "checkpoint",
                    f"checkpoint #{pk} (size {tree_size}) has an invalid signature: forged",
                    checkpoints=(pk,),
                )
            )
            continue  # a forged checkpoint proves nothing; compare the genuine ones only
        if tree_size > size:
            if not truncated_reported:
                truncated_reported = True
                last_id = scanner.recent[-1][1] if scanner.recent else None
                if not scanner.found:
                    scanner.report(
                        "truncated",
                        f"checkpoint #{pk} covers {tree_size} leaves but only {size} remain: "
                        f"the entries after {_describe(last_id)} (sequence {size} on) were "
                        "deleted",
                        last_id,
                        size,
                    )
            matches = False
        else:
            matches = roots_at.get(tree_size) == root_hash
            if not matches:
                result.problems.append(
                    Problem(
                        "checkpoint",
                        f"checkpoint #{pk} (size {tree_size}) does not match the log: the "
                        f"leaves before sequence {tree_size} were changed",
                        checkpoints=(pk,),
                    )
                )
        if previous is not None:
            before_pk, before_size, _root, before_time = previous[:4]
            if (
                tree_size < before_size
                or created_at < before_time
                or (previous_matches != matches and tree_size <= size)
            ):
                result.problems.append(
                    Problem(
                        "checkpoint",
                        f"checkpoints #{before_pk} (size {before_size}) and #{pk} (size "
                        f"{tree_size}) are not consistent: they cannot both describe one "
                        "append-only log",
                        checkpoints=(before_pk, pk),
                    )
                )
        previous = (pk, tree_size, root_hash, created_at)
        previous_matches = matches
    # entry-level problems first, checkpoint problems after (stable order for readers)
    result.problems.sort(key=lambda problem: problem.kind == "checkpoint")


def _check_unsealed(result: VerifyResult, checkpoints: list[tuple[Any, ...]]) -> None:
    unsealed = AuditEntry.objects.filter(leaf__isnull=True)
    result.unsealed = unsealed.count()
    if not checkpoints or not result.unsealed:
        return
    lookback = getattr(settings, "CPMS_AUDIT_SEAL_LOOKBACK_SECONDS", 3600)
    latest_time = max(row[3] for row in checkpoints)
    stale = (
        unsealed.filter(created_at__lt=latest_time - timedelta(seconds=lookback))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if stale is not None:
        result.problems.insert(
            0 if result.first_entry_problem is None else len(result.problems),
            Problem(
                "unsealed",
                f"entry #{stale} is dated long before the latest checkpoint but was never "
                "sealed: inserted after the fact",
                entry_id=stale,
            ),
        )
