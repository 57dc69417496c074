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
from cpms.audit.witness import WitnessRecord

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


def audit_verify(witness: list[tuple[int, WitnessRecord | None]] | None = None) -> VerifyResult:
    """Recompute the whole trail; `witness` (from `witness.read`) also compares the database's
    checkpoints and the log with the checkpoints kept in the witness file."""
    started = time.perf_counter()
    result = VerifyResult()
    checkpoints = list(
        AuditCheckpoint.objects.order_by("pk").values_list(
            "pk", "tree_size", "root_hash", "created_at", "key_id", "signature"
        )
    )
    result.checkpoints = len(checkpoints)
    genuine = _genuine_checkpoints(checkpoints)
    settle = timedelta(seconds=getattr(settings, "CPMS_AUDIT_SETTLE_SECONDS", 2))
    # sealed after checkpoint c (sequence >= c.tree_size) means dated after c.time - settle
    bounds = _date_bounds(checkpoints, genuine, settle)
    wanted_sizes = {row[1] for row in checkpoints}
    if witness:
        wanted_sizes |= {record.tree_size for _line, record in witness if record is not None}
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
    bound_index = 0
    limit: datetime | None = None
    limit_checkpoint = 0
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
        created_text = iso_time(created_at)
        content = sha256(
            encode(
                {
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
        if bound_index < len(bounds) and sequence >= bounds[bound_index][0]:
            while bound_index < len(bounds) and sequence >= bounds[bound_index][0]:
                bound_index += 1
            limit, limit_checkpoint = bounds[bound_index - 1][1:]
        if limit is not None and not scanner.found:
            when = datetime.fromisoformat(created_text)
            if when < limit:
                scanner.report(
                    "inserted",
                    f"entry #{entry_id} (sequence {sequence}) is dated "
                    f"{signing.format_time(when)} but was sealed after checkpoint "
                    f"#{limit_checkpoint}, signed later than that plus the settle delay: "
                    "inserted after the fact",
                    entry_id,
                    sequence,
                )
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
    _check_checkpoints(result, scanner, checkpoints, genuine, roots_at, state.size)
    _check_unsealed(result, checkpoints, genuine, settle)
    if witness is not None:
        _check_witness(result, witness, checkpoints, roots_at, state.size)
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


def _genuine_checkpoints(checkpoints: list[tuple[Any, ...]]) -> set[int]:
    """Ids of the checkpoints whose signature verifies with a known key."""
    keys = known_public_keys()
    genuine = set()
    for pk, tree_size, root_hash, created_at, key_id, signature in checkpoints:
        public = keys.get(key_id)
        message = signing.checkpoint_message(tree_size, root_hash, created_at)
        if public is not None and signing.signature_valid(message, signature, public):
            genuine.add(pk)
    return genuine


def _date_bounds(
    checkpoints: list[tuple[Any, ...]], genuine: set[int], settle: timedelta
) -> list[tuple[int, datetime, int]]:
    """(size, earliest allowed time, checkpoint id) by increasing size: a leaf at a sequence at
    or above `size` was sealed after that checkpoint (or a later-signed smaller one), so its
    entry cannot be dated before the checkpoint's time minus the settle delay."""
    bounds: list[tuple[int, datetime, int]] = []
    newest: tuple[datetime, int] | None = None
    for pk, tree_size, _root, created_at, _key, _signature in sorted(
        (row for row in checkpoints if row[0] in genuine), key=lambda row: (row[1], row[0])
    ):
        if newest is None or created_at > newest[0]:
            newest = (created_at, pk)
        bounds.append((tree_size, newest[0] - settle, newest[1]))
    return bounds


def _check_checkpoints(
    result: VerifyResult,
    scanner: _Scanner,
    checkpoints: list[tuple[Any, ...]],
    genuine: set[int],
    roots_at: dict[int, str],
    size: int,
) -> None:
    previous: tuple[Any, ...] | None = None
    previous_matches = True
    truncated_reported = False
    for pk, tree_size, root_hash, created_at, _key_id, _signature in checkpoints:
        if pk not in genuine:
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


def _unsealed_sql() -> str:
    leaf, entry = AuditLeaf._meta.db_table, AuditEntry._meta.db_table
    columns = ['e."id"'] + [f'e."{name}"' for name in _ENTRY_COLUMNS]
    if connection.vendor == "sqlite":  # the stored text, as in _rows_sql
        columns[1] = f"({columns[1]} || '')"
    return (
        f'SELECT {", ".join(columns)} FROM "{entry}" e '  # noqa: S608 (names from the models)
        f'LEFT JOIN "{leaf}" l ON l."entry_id" = e."id" WHERE l."entry_id" IS NULL '
        'ORDER BY e."created_at", e."id"'
    )


def content_digest(created_at: Any, fields: tuple[Any, ...]) -> str:
    """SHA-256 (hex) of an entry's canonical JSON from its stored columns: `created_at` as the
    database gives it back, then the other payload columns in ENTRY_COLUMNS order (before and
    after as stored JSON text)."""
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
    loads = json.loads
    payload = {
        "created_at": _iso_time(created_at),
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
    return hashlib.sha256(_ENCODE(payload).encode()).hexdigest()


def _place(result: VerifyResult, problem: Problem) -> None:
    """An entry-level problem found after the stream: first when it is the only one, after the
    others otherwise."""
    result.problems.insert(
        0 if result.first_entry_problem is None else len(result.problems), problem
    )


def _check_unsealed(
    result: VerifyResult,
    checkpoints: list[tuple[Any, ...]],
    genuine: set[int],
    settle: timedelta,
) -> None:
    """Every entry not sealed yet: its content must still give its hash, and it must not be
    dated before the newest genuine checkpoint minus the settle delay (every genuine entry that
    old was sealed before that checkpoint was signed)."""
    times = [(row[3], row[0]) for row in checkpoints if row[0] in genuine]
    newest = max(times) if times else None
    limit = None if newest is None else newest[0] - settle
    count = 0
    edited: Problem | None = None
    stale: Problem | None = None
    with connection.chunked_cursor() as cursor:
        cursor.execute(_unsealed_sql())
        while rows := cursor.fetchmany(CHUNK):
            for entry_id, created_at, *fields, digest in rows:
                count += 1
                if edited is None and content_digest(created_at, tuple(fields)) != digest:
                    edited = Problem(
                        "edited",
                        f"entry #{entry_id} (not sealed yet) was edited: its content no longer "
                        "matches its hash",
                        entry_id=entry_id,
                    )
                if stale is None and limit is not None and newest is not None:
                    when = datetime.fromisoformat(_iso_time(created_at))
                    if when < limit:
                        stale = Problem(
                            "unsealed",
                            f"entry #{entry_id} is dated {signing.format_time(when)}, before "
                            f"checkpoint #{newest[1]} signed at {signing.format_time(newest[0])}"
                            " (minus the settle delay), but was never sealed: inserted after "
                            "the fact",
                            entry_id=entry_id,
                        )
    result.unsealed = count
    for problem in (stale, edited):
        if problem is not None:
            _place(result, problem)


def _check_witness(
    result: VerifyResult,
    witness: list[tuple[int, WitnessRecord | None]],
    checkpoints: list[tuple[Any, ...]],
    roots_at: dict[int, str],
    size: int,
) -> None:
    """Every checkpoint in the witness file must be in the database unchanged, and the log must
    still have its root at its size; a database checkpoint older than the newest witnessed one
    but absent from the file was added afterwards."""
    keys = known_public_keys()
    stored = {row[0]: row for row in checkpoints}
    witnessed: set[int] = set()
    result.witnessed = 0
    for line, record in witness:
        if record is None:
            result.problems.append(
                Problem("witness", f"witness line {line} is not a checkpoint record")
            )
            continue
        result.witnessed += 1
        pk = record.checkpoint_id
        public = keys.get(record.key_id)
        if public is None or not signing.signature_valid(
            record.signed_message(), record.signature, public
        ):
            result.problems.append(
                Problem(
                    "witness",
                    f"witness line {line} (checkpoint #{pk}) is not signed by a known key",
                )
            )
            continue
        witnessed.add(pk)
        row = stored.get(pk)
        if row is None:
            result.problems.append(
                Problem(
                    "witness",
                    f"checkpoint #{pk} (size {record.tree_size}, signed {record.time}) is in "
                    "the witness but missing from the database",
                    checkpoints=(pk,),
                )
            )
        elif (row[1], row[2], signing.format_time(row[3]), row[4], row[5]) != (
            record.tree_size,
            record.root_hash,
            record.time,
            record.key_id,
            record.signature,
        ):
            result.problems.append(
                Problem(
                    "witness",
                    f"checkpoint #{pk} in the database differs from the witness (size "
                    f"{record.tree_size}, root {record.root_hash}, signed {record.time})",
                    checkpoints=(pk,),
                )
            )
        if record.tree_size > size:
            result.problems.append(
                Problem(
                    "witness",
                    f"witnessed checkpoint #{pk} covers {record.tree_size} leaves but only "
                    f"{size} remain: the entries from sequence {size} on were deleted",
                    sequence=size,
                    checkpoints=(pk,),
                )
            )
        elif roots_at.get(record.tree_size) != record.root_hash:
            result.problems.append(
                Problem(
                    "witness",
                    f"the log no longer matches witnessed checkpoint #{pk} (size "
                    f"{record.tree_size}): the leaves before sequence {record.tree_size} were "
                    "changed",
                    checkpoints=(pk,),
                )
            )
    newest = max(witnessed, default=None)
    if newest is not None:
        for pk in sorted(set(stored) - witnessed):
            if pk < newest:
                result.problems.append(
                    Problem(
                        "witness",
                        f"checkpoint #{pk} is in the database but not in the witness: added "
                        "afterwards",
                        checkpoints=(pk,),
                    )
                )
