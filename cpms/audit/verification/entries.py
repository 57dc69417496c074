"""Verification of the entries themselves: an entry's content hash recomputed from its stored
columns (`content_digest`), and the entries not sealed yet, which no leaf or checkpoint
covers: their content must still give their hash, and none may be dated before the newest
genuine checkpoint (minus the settle delay)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from cpms.audit import signing
from cpms.audit.models import ENTRY_COLUMNS as _ENTRY_COLUMNS
from cpms.audit.models import AuditEntry, AuditLeaf
from cpms.audit.verification._shared import (
    CHUNK,
    Problem,
    VerifyResult,
    _entry_hash,
    _iso_time,
    _place,
)


def _unsealed_sql() -> str:
    """The entries without a leaf, oldest first, as raw columns."""
    leaf, entry = AuditLeaf._meta.db_table, AuditEntry._meta.db_table
    columns = ['e."id"'] + [f'e."{name}"' for name in _ENTRY_COLUMNS]
    if connection.vendor == "sqlite":  # the stored text, as in scan._rows_sql
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
    return _entry_hash(_iso_time(created_at), fields).hex()


def check_unsealed(
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
