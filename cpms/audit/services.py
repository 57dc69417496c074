"""The one way to write the audit trail."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from cpms.audit import signing, tree, witness
from cpms.audit.canonical import (  # noqa: F401 (entry_payload re-exported)
    canonical_json,
    entry_hash,
    entry_payload,
)
from cpms.audit.choices import AuditAction
from cpms.audit.models import ENTRY_COLUMNS as _ENTRY_COLUMNS
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode
from cpms.audit.selectors import fetch_units, sealed_size
from cpms.core import authz, context

_KNOWN_ACTIONS = frozenset(AuditAction.values)
logger = logging.getLogger(__name__)


class AuditOutsideTransaction(RuntimeError):
    """audit_record was called in autocommit mode: the entry would not share the change's fate."""


def pii_digest(value: Any) -> str:
    """Personal data never enters the audit trail in clear: only a SHA-256 of it."""
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


def _redact(values: Mapping[str, Any] | None, pii_fields: Iterable[str]) -> dict[str, Any] | None:
    if values is None:
        return None
    hidden = set(pii_fields)
    return {
        key: (pii_digest(value) if key in hidden and value not in (None, "") else value)
        for key, value in values.items()
    }


def _actor_roles(actor: Any) -> str:
    """The actor's active roles, from the access layer through core.authz (cached on the user
    object per request)."""
    return authz.role_codes(actor)


_ENTRY_TABLE = AuditEntry._meta.db_table
_INSERT_SQL = {
    # one prepared statement, parameters in _ENTRY_COLUMNS order
    "sqlite": f'INSERT INTO "{_ENTRY_TABLE}" ({", ".join(_ENTRY_COLUMNS)}) '  # noqa: S608
    f"VALUES ({', '.join('?' * len(_ENTRY_COLUMNS))})",
    "postgresql": f'INSERT INTO "{_ENTRY_TABLE}" ({", ".join(_ENTRY_COLUMNS)}) '  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_ENTRY_COLUMNS))}) RETURNING id",
    "django": f'INSERT INTO "{_ENTRY_TABLE}" ({", ".join(_ENTRY_COLUMNS)}) '  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_ENTRY_COLUMNS))})",
}
_dumps = json.JSONEncoder(  # the canonical encoder (see canonical.py), reused
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode
_loads = json.loads
_sha256 = hashlib.sha256


def _json_value(value: Mapping[str, Any] | None) -> tuple[Any, str | None]:
    """(what the database will give back, the JSON text to store) for a before/after value."""
    if value is None:
        return None, None
    text = canonical_json(value if isinstance(value, dict) else dict(value)).decode()
    return _loads(text), text


def _insert(conn: Any, params: list[Any]) -> int:
    """INSERT the entry row. A raw prepared statement on the DB-API cursor when nothing watches
    the queries (no debug cursor, no execute wrappers); Django's cursor otherwise."""
    vendor = conn.vendor
    if vendor == "sqlite" and not conn.queries_logged and not conn.execute_wrappers:
        raw = conn.connection.cursor()
        try:
            created = params[0]
            params[0] = created.replace(tzinfo=None).isoformat(" ")  # stored in UTC, like Django
            raw.execute(_INSERT_SQL["sqlite"], params)
            return raw.lastrowid
        finally:
            raw.close()
    if vendor == "postgresql" and not conn.queries_logged and not conn.execute_wrappers:
        with conn.connection.cursor() as raw:
            raw.execute(_INSERT_SQL["postgresql"], params)
            return raw.fetchone()[0]
    with conn.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(_INSERT_SQL["postgresql"], params)
            return cursor.fetchone()[0]
        params[0] = conn.ops.adapt_datetimefield_value(params[0])
        cursor.execute(_INSERT_SQL["django"], params)
        return cursor.lastrowid


def audit_record(
    *,
    actor: Any,
    action: AuditAction | str,
    object_type: str = "",
    object_id: Any = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    pii_fields: Iterable[str] = (),
) -> AuditEntry:
    """Append one audit entry. Must run inside the transaction of the change it records;
    `pii_fields` names keys of before/after whose values are stored only as hashes."""
    conn = _connection_in_transaction(action)
    where = context.current()
    actor_id, actor_name, actor_roles = _actor_fields(actor)
    if pii_fields:
        before = _redact(before, pii_fields)
        after = _redact(after, pii_fields)
    # the hash covers exactly what the database gives back: the values after a JSON round trip
    before_value, before_text = _json_value(before)
    after_value, after_text = _json_value(after)
    created_at = timezone.now()
    action = str(action)
    object_id = str(object_id) if object_id not in (None, "") else ""
    channel, ip, user_agent, request_id = (
        where.channel,
        where.ip,
        where.user_agent,
        where.request_id,
    )
    digest = _sha256(
        _dumps(
            {
                "created_at": created_at.isoformat(),
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
                "before": before_value,
                "after": after_value,
                "reason": reason,
            }
        ).encode()
    ).hexdigest()
    row = [created_at, actor_id, actor_name, actor_roles, channel, ip, user_agent, request_id]
    row += [action, object_type, object_id]
    pk = _insert(conn, [*row, before_text, after_text, reason, digest])
    return _entry_as_read(pk, *row, before_value, after_value, reason, digest)


def _connection_in_transaction(action: Any) -> Any:
    """The default connection, refusing an unknown action or a call outside a transaction."""
    if action not in _KNOWN_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to AuditAction")
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.get_autocommit():
        raise AuditOutsideTransaction(
            f"audit_record({action}) must run inside transaction.atomic() with the change"
        )
    return conn


def _actor_fields(actor: Any) -> tuple[Any, str, str]:
    """(actor id, name, roles) as the entry stores them; empty for the system or the CLI."""
    if actor is None:
        return None, "", ""
    name = (getattr(actor, "display_name", "") or actor.get_username())[:150]
    return actor.pk or None, name, _actor_roles(actor)[:400]


def _entry_as_read(*values: Any) -> AuditEntry:
    """The model instance as a read would build it (positional: Django's fast path)."""
    entry = AuditEntry(*values)
    entry._state.adding = False
    entry._state.db = DEFAULT_DB_ALIAS
    return entry


# ---------------------------------------------------------------------------------------------
# sealing: give committed entries their place in the Merkle tree, in batches

SEAL_LOCK_KEY = 0x43504D5341554454  # "CPMSAUDT": the advisory lock only the sealer takes


@dataclass(frozen=True)
class SealResult:
    sealed: int
    tree_size: int
    checkpoint: AuditCheckpoint | None
    busy: bool = False
    refused: int = 0  # entries dated before the newest checkpoint (counted by `full` only)


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def settle_delay() -> timedelta:
    """CPMS_AUDIT_SETTLE_SECONDS: the longest an audited transaction may take to commit after it
    wrote its entry. A checkpoint covers every entry dated before its time minus this delay."""
    return timedelta(seconds=_setting("CPMS_AUDIT_SETTLE_SECONDS", 2))


def _take_sealer_lock() -> bool:
    """One sealer at a time. PostgreSQL: a transaction-scoped advisory lock (writers of entries
    never take it). SQLite: the IMMEDIATE transaction already holds the database write lock."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _older_writer_open(before: datetime) -> bool:
    """Is another transaction that has written (holds a transaction id) and began before
    `before` still open? Its entries, dated before `before`, would commit after a checkpoint
    signed now and then count as back-dated. SQLite: never (the sealer holds the write lock)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read now, not at transaction start
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND xact_start < %s)",
            [before],
        )
        return bool(cursor.fetchone()[0])


def _seal_horizon() -> datetime | None:
    """Entries dated before this are never sealed: the newest checkpoint's time minus the settle
    delay. Every genuine entry that old was committed, and so sealed, before that checkpoint was
    signed; one appearing now was inserted after the fact (docs/audit.md, "Tamper model")."""
    latest = AuditCheckpoint.objects.order_by("-pk").values_list("created_at", flat=True).first()
    return None if latest is None else latest - settle_delay()


def _seal_batch(*, batch_size: int, cutoff: datetime, horizon: datetime | None) -> tuple[int, int]:
    size = sealed_size()
    pending = AuditEntry.objects.filter(leaf__isnull=True, created_at__lt=cutoff)
    if horizon is not None:
        pending = pending.filter(created_at__gte=horizon)
    rows = list(pending.order_by("created_at", "pk").values_list("pk", "entry_hash")[:batch_size])
    if not rows:
        return 0, size
    state = tree.load_state(size, fetch_units)
    leaves: list[tuple[int, int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    entry_leaf_hash = tree.entry_leaf_hash
    append = state.append
    for entry_id, digest in rows:
        sequence = state.size
        leaf = entry_leaf_hash(sequence, entry_id, digest)
        leaves.append((sequence, entry_id, leaf))
        for level, index, value in append(leaf):
            nodes.append((level, index, value))
    _insert_rows(AuditLeaf._meta.db_table, ("sequence", "entry_id", "leaf_hash"), leaves)
    if nodes:
        _insert_rows(AuditNode._meta.db_table, ("level", "index", "node_hash"), nodes)
    return len(rows), state.size


def _insert_rows(table: str, columns: tuple[str, str, str], rows: list[Any]) -> None:
    """Append many (int, int, 32-byte hash) rows. PostgreSQL: one INSERT ... SELECT over two
    bigint arrays and one bytea of the concatenated hashes, bound server-side in binary (no
    per-element text escaping); SQLite: one prepared executemany."""
    names = ", ".join(f'"{name}"' for name in columns)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES (%s, %s, %s)',  # noqa: S608
                rows,
            )
        return
    import psycopg

    blob = b"".join(row[2] for row in rows)
    if len(blob) != 32 * len(rows):
        raise ValueError("tree hashes are 32 bytes")
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) '  # noqa: S608 (names from the models)
            "SELECT a, b, substring(%b::bytea from (i::int - 1) * 32 + 1 for 32) "
            "FROM unnest(%b::bigint[], %b::bigint[]) WITH ORDINALITY AS u(a, b, i)",
            [blob, [row[0] for row in rows], [row[1] for row in rows]],
        )


def _refused_count(horizon: datetime | None) -> int:
    """Unsealed entries dated before the horizon (a whole-table search: `full` only)."""
    if horizon is None:
        return 0
    return AuditEntry.objects.filter(leaf__isnull=True, created_at__lt=horizon).count()


def audit_seal(
    *,
    actor: Any = None,
    batch_size: int | None = None,
    settle_seconds: float | None = None,
    checkpoint: str = "auto",
    full: bool = False,
    max_batches: int | None = None,
) -> SealResult:
    """Append every committed, settled, unsealed entry to the tree, batch by batch (each batch
    its own transaction), then write a signed checkpoint when one is due (`checkpoint`:
    "auto", "force" or "never").

    Ordering rule: writers only INSERT; an entry is sealed once it is older than the settle
    delay (default 2 s). Selection is "has no leaf yet", never "id above the last sealed id",
    so an entry whose transaction commits late is sealed by the next run instead of being
    skipped. An entry dated before the newest checkpoint minus the settle delay is refused:
    it cannot be genuine (a checkpoint is signed only when every entry that old is sealed), so
    it stays out of the tree and `audit_verify` names it. `full` also counts those refusals
    (a search of the whole table)."""
    batch_size = batch_size or int(_setting("CPMS_AUDIT_SEAL_BATCH", 10_000))
    configured = settle_delay().total_seconds()
    settle = configured if settle_seconds is None else settle_seconds
    total = 0
    size = 0
    batches = 0
    refused = 0
    while True:
        with transaction.atomic():
            if not _take_sealer_lock():
                return SealResult(sealed=total, tree_size=size, checkpoint=None, busy=True)
            cutoff = timezone.now() - timedelta(seconds=settle)
            horizon = _seal_horizon()
            sealed, size = _seal_batch(batch_size=batch_size, cutoff=cutoff, horizon=horizon)
            if full and batches == 0:
                refused = _refused_count(horizon)
        total += sealed
        batches += 1
        if sealed < batch_size or (max_batches is not None and batches >= max_batches):
            break
    written = None
    if checkpoint != "never":
        written = checkpoint_write(
            actor=actor,
            force=checkpoint == "force",
            settle_seconds=min(settle, configured),
            batch_size=batch_size,
        )
        if written is not None:
            size = written.tree_size
    return SealResult(sealed=total, tree_size=size, checkpoint=written, refused=refused)


def checkpoint_write(
    *,
    actor: Any = None,
    force: bool = False,
    settle_seconds: float | None = None,
    batch_size: int | None = None,
) -> AuditCheckpoint | None:
    """Sign (tree size, root, time) when the interval has passed and the tree has grown, or
    always with `force`. Returns the new checkpoint or None.

    A checkpoint signed at time T promises that every entry dated before T minus the settle
    delay is in it: so it first seals, in its own transaction under the sealer lock, whatever
    settled since the last batch, and on PostgreSQL it waits (returns None; the next run
    tries again) while another transaction that has written and began before T minus the
    settle delay is still open. After commit the checkpoint is appended to the witness file
    (CPMS_AUDIT_WITNESS_FILE), if one is configured."""
    configured = settle_delay()
    settle = (
        configured if settle_seconds is None else min(timedelta(seconds=settle_seconds), configured)
    )
    batch_size = batch_size or int(_setting("CPMS_AUDIT_SEAL_BATCH", 10_000))
    with transaction.atomic():
        if not _take_sealer_lock():
            return None
        last = AuditCheckpoint.objects.order_by("-pk").first()
        now = timezone.now()
        interval = timedelta(seconds=_setting("CPMS_AUDIT_CHECKPOINT_SECONDS", 300))
        if not force and last is not None and now - last.created_at < interval:
            return None
        if _older_writer_open(now - configured):
            logger.info("audit checkpoint postponed: an older writing transaction is open")
            return None
        horizon = _seal_horizon()
        while True:
            sealed, size = _seal_batch(batch_size=batch_size, cutoff=now - settle, horizon=horizon)
            if sealed < batch_size:
                break
        if not force and (size == 0 or (last is not None and last.tree_size == size)):
            return None
        root = tree.TreeReader(size, fetch_units).root().hex()
        public = signing.public_key_bytes()
        written = AuditCheckpoint.objects.create(
            tree_size=size,
            root_hash=root,
            created_at=now,
            key_id=signing.key_id(public),
            signature=signing.sign(signing.checkpoint_message(size, root, now)),
        )
        path = witness.configured_path()
        if path is not None:
            record = witness.record_of(written)
            transaction.on_commit(lambda: witness.append_safely(path, record))
        return written


# ---------------------------------------------------------------------------------------------
# audited reads of the trail itself


def audit_verification_record(*, actor: Any, result: Any) -> AuditEntry:
    """Record that a user verified the trail, with the outcome."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuditAction.AUDIT_VERIFIED,
            object_type="audit_log",
            after=result.summary(),
        )


def audit_export_record(*, actor: Any, filters: Mapping[str, Any]) -> AuditEntry:
    """Record an export of the trail and the filter it used (before the file is streamed)."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action=AuditAction.AUDIT_EXPORTED,
            object_type="audit_log",
            after={"filters": {key: value for key, value in filters.items() if value}},
        )
