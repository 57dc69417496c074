"""The streaming pass of the verification, and `audit_verify`, which runs every check.

One pass over the leaves in sequence order (joined with their entries) recomputes each entry
hash from its fields, each leaf hash, every stored tile root and the root at every
checkpoint's size; `_Scanner` classifies the first entry-level problem it meets. The checks
of the checkpoints (`checkpoints.py`) and of the entries not sealed yet (`entries.py`) run
after the pass."""

from __future__ import annotations

import hashlib
import struct
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from cpms.audit import merkle, signing, tree
from cpms.audit.models import ENTRY_COLUMNS as _ENTRY_COLUMNS
from cpms.audit.models import AuditEntry, AuditLeaf, AuditNode
from cpms.audit.verification._shared import (
    CHUNK,
    Problem,
    VerifyResult,
    _describe,
    _entry_hash,
    _iso_time,
)
from cpms.audit.verification.checkpoints import (
    CheckpointRow,
    check_checkpoints,
    check_witness,
    checkpoint_rows,
    date_bounds,
    genuine_checkpoints,
)
from cpms.audit.verification.entries import check_unsealed
from cpms.audit.witness import WitnessRecord

SHIFT_SEARCH = 8  # how far a renumbered leaf is looked for


_LEAF_COLUMNS = ("sequence", "leaf_hash", "entry_id")


def _rows_sql() -> str:
    """Leaves joined with their entries in sequence order, as raw columns."""
    leaf, entry = AuditLeaf._meta.db_table, AuditEntry._meta.db_table
    columns = [f'l."{name}"' for name in _LEAF_COLUMNS]
    columns += [f'e."{name}"' for name in _ENTRY_COLUMNS]
    if connection.vendor == "sqlite":  # the stored text: no per-row datetime converter
        columns[3] = f"({columns[3]} || '')"
    return (
        f'SELECT {", ".join(columns)} FROM "{leaf}" l '  # noqa: S608 (names from the models)
        f'JOIN "{entry}" e ON e."id" = l."entry_id" ORDER BY l."sequence"'
    )


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

    def gap(self, expected: int, sequence: int, entry_id: int) -> None:
        """Sequence numbers are missing before this leaf: the entries were deleted."""
        self.report(
            "deleted",
            f"sequence {expected}..{sequence - 1} missing: the entries sealed between "
            f"{_describe(self.previous_id())} and entry #{entry_id} were deleted",
            self.previous_id(),
            expected,
        )

    def content_edited(self, entry_id: int, sequence: int) -> None:
        """The entry's content no longer gives its stored hash."""
        self.report(
            "edited",
            f"entry #{entry_id} (sequence {sequence}) was edited: its content no longer "
            "matches its hash",
            entry_id,
            sequence,
        )

    def back_dated(self, entry_id: int, sequence: int, when: datetime, checkpoint: int) -> None:
        """The leaf was sealed after a checkpoint signed later than the entry's date plus the
        settle delay: the entry was inserted after the fact."""
        self.report(
            "inserted",
            f"entry #{entry_id} (sequence {sequence}) is dated "
            f"{signing.format_time(when)} but was sealed after checkpoint "
            f"#{checkpoint}, signed later than that plus the settle delay: "
            "inserted after the fact",
            entry_id,
            sequence,
        )

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


@dataclass
class _Plan:
    """What the pass needs from the checkpoints, read before it starts."""

    checkpoints: list[CheckpointRow]
    genuine: set[int]
    settle: timedelta
    # (size, earliest allowed time, checkpoint id): see checkpoints.date_bounds
    bounds: list[tuple[int, datetime, int]]
    # the sizes whose root the checkpoint and witness checks compare, and the roots found
    wanted_sizes: set[int]
    roots_at: dict[int, str]


def _plan(witness: list[tuple[int, WitnessRecord | None]] | None) -> _Plan:
    checkpoints = checkpoint_rows()
    genuine = genuine_checkpoints(checkpoints)
    settle = timedelta(seconds=getattr(settings, "CPMS_AUDIT_SETTLE_SECONDS", 2))
    # sealed after checkpoint c (sequence >= c.tree_size) means dated after c.time - settle
    bounds = date_bounds(checkpoints, genuine, settle)
    wanted_sizes = {row[1] for row in checkpoints}
    if witness:
        wanted_sizes |= {record.tree_size for _line, record in witness if record is not None}
    roots_at: dict[int, str] = {}
    if 0 in wanted_sizes:
        roots_at[0] = merkle.EMPTY_ROOT.hex()
    return _Plan(checkpoints, genuine, settle, bounds, wanted_sizes, roots_at)


def audit_verify(witness: list[tuple[int, WitnessRecord | None]] | None = None) -> VerifyResult:
    """Recompute the whole trail; `witness` (from `witness.read`) also compares the database's
    checkpoints and the log with the checkpoints kept in the witness file."""
    started = time.perf_counter()
    result = VerifyResult()
    plan = _plan(witness)
    result.checkpoints = len(plan.checkpoints)
    scanner = _Scanner(result)
    state, expected_nodes = _scan_leaves(scanner, plan)
    result.entries = state.size
    result.tree_size = state.size
    result.root_hash = state.root().hex()
    _check_nodes(result, expected_nodes, state.size)
    check_checkpoints(result, scanner, plan.checkpoints, plan.genuine, plan.roots_at, state.size)
    check_unsealed(result, plan.checkpoints, plan.genuine, plan.settle)
    if witness is not None:
        check_witness(result, witness, plan.checkpoints, plan.roots_at, state.size)
    result.seconds = time.perf_counter() - started
    return result


def _next_bound(
    bounds: list[tuple[int, datetime, int]], index: int, sequence: int
) -> tuple[int, datetime, int]:
    """The date bound in force from `sequence` on: the index past every bound whose size the
    sequence has reached, that bound's earliest allowed time and its checkpoint id."""
    while index < len(bounds) and sequence >= bounds[index][0]:
        index += 1
    return index, *bounds[index - 1][1:]


def _scan_leaves(
    scanner: _Scanner, plan: _Plan
) -> tuple[tree.TreeState, dict[tuple[int, int], bytes]]:
    """The pass: per leaf, the sequence checked for gaps, the entry hash and the leaf hash
    recomputed and compared, the entry's date checked against the checkpoints sealed before
    it, and the tree rebuilt from the recomputed leaves (its nodes are returned; its root at
    every wanted size goes to `plan.roots_at`). This is the hot path (`bench/audit.py`
    measures its rate): names are bound locally, and what runs only on a problem is in
    `_Scanner`."""
    state = tree.TreeState()
    expected_nodes: dict[tuple[int, int], bytes] = {}
    sha256 = hashlib.sha256
    entry_hash = _entry_hash
    iso_time = _iso_time
    pack = struct.Struct(">QQ").pack
    append = state.append
    remember = scanner.recent.append
    bounds, wanted_sizes, roots_at = plan.bounds, plan.wanted_sizes, plan.roots_at
    expected = 0
    bound_index = 0
    limit: datetime | None = None
    limit_checkpoint = 0
    for row in _stream_rows():
        sequence, stored_leaf, entry_id, created_at, *fields, digest = row
        stored_leaf = bytes(stored_leaf)
        if scanner.pending is not None:
            scanner.resolve_pending(scanner.shift_of(sequence, entry_id, digest, stored_leaf))
        if sequence != expected and not scanner.found:
            scanner.gap(expected, sequence, entry_id)
        created_text = iso_time(created_at)
        content = entry_hash(created_text, fields)
        if content.hex() != digest and not scanner.found:
            scanner.content_edited(entry_id, sequence)
        leaf = sha256(b"\x00" + pack(sequence, entry_id) + content).digest()
        if leaf != stored_leaf and not scanner.found and content.hex() == digest:
            scanner.leaf_mismatch(sequence, entry_id, digest, stored_leaf)
        if bound_index < len(bounds) and sequence >= bounds[bound_index][0]:
            bound_index, limit, limit_checkpoint = _next_bound(bounds, bound_index, sequence)
        if limit is not None and not scanner.found:
            when = datetime.fromisoformat(created_text)
            if when < limit:
                scanner.back_dated(entry_id, sequence, when, limit_checkpoint)
        remember((sequence, entry_id))
        # the tree as it should be: built from the recomputed leaves
        for level, index, value in append(leaf):
            expected_nodes[(level, index)] = value
        expected = sequence + 1
        if state.size in wanted_sizes:
            roots_at[state.size] = state.root().hex()
    if scanner.pending is not None:
        scanner.resolve_pending(scanner.pending[2])  # the last leaves moved: a deletion
    return state, expected_nodes


def _check_nodes(result: VerifyResult, expected: dict[tuple[int, int], bytes], size: int) -> None:
    """Every stored tile node must equal the one rebuilt from the recomputed leaves, and none
    may be missing."""
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
