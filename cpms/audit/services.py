"""The one way to write the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cpms.audit import signing, tree
from cpms.audit.canonical import (  # noqa: F401 (entry_payload re-exported)
    canonical_json,
    entry_hash,
    entry_payload,
)
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode
from cpms.audit.selectors import fetch_units, sealed_size
from cpms.core import context

_KNOWN_ACTIONS = frozenset(AuditAction.values)


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
    if actor is None:
        return ""
    from cpms.access.checks import active_grants  # cached on the user object per request

    return ",".join(sorted({grant.role for grant in active_grants(actor)}))


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
    if action not in _KNOWN_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to AuditAction")
    if connection.get_autocommit():
        raise AuditOutsideTransaction(
            f"audit_record({action}) must run inside transaction.atomic() with the change"
        )
    where = context.current()
    actor_name = ""
    if actor is not None:
        actor_name = (getattr(actor, "display_name", "") or actor.get_username())[:150]
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor_name,
        actor_roles=_actor_roles(actor)[:400],
        channel=where.channel,
        ip=where.ip,
        user_agent=where.user_agent,
        request_id=where.request_id,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        before=_redact(before, pii_fields),
        after=_redact(after, pii_fields),
        reason=reason,
    )
    # JSON round trip so the hash covers exactly what the database will return
    entry.before = json.loads(canonical_json({"v": entry.before}))["v"]
    entry.after = json.loads(canonical_json({"v": entry.after}))["v"]
    entry.entry_hash = entry_hash(entry)
    entry.save(force_insert=True)
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


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def _take_sealer_lock() -> bool:
    """One sealer at a time. PostgreSQL: a transaction-scoped advisory lock (writers of entries
    never take it). SQLite: the IMMEDIATE transaction already holds the database write lock."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        return bool(cursor.fetchone()[0])


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
    nodes: list[AuditNode] = []
    entry_leaf_hash = tree.entry_leaf_hash
    append = state.append
    for entry_id, digest in rows:
        sequence = state.size
        leaf = entry_leaf_hash(sequence, entry_id, digest)
        leaves.append((sequence, entry_id, leaf))
        for level, index, value in append(leaf):
            nodes.append(AuditNode(level=level, index=index, node_hash=value))
    # executemany instead of bulk_create: the leaf rows are plain tuples, 3x cheaper per row
    table = AuditLeaf._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO "{table}" ("sequence", "entry_id", "leaf_hash") VALUES (%s, %s, %s)',  # noqa: S608 (table name from the model)
            leaves,
        )
    if nodes:
        AuditNode.objects.bulk_create(nodes, batch_size=2000)
    return len(rows), state.size


def _horizon(full: bool) -> datetime | None:
    """Where the search for unsealed entries starts: the time of the newest sealed entry minus
    the lookback (longest transaction expected); `full` searches the whole table."""
    if full:
        return None
    newest = (
        AuditLeaf.objects.order_by("-sequence").values_list("entry__created_at", flat=True).first()
    )
    if newest is None:
        return None
    return newest - timedelta(seconds=_setting("CPMS_AUDIT_SEAL_LOOKBACK_SECONDS", 3600))


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
    skipped; the lookback only bounds how far back that search looks (`full` lifts it)."""
    batch_size = batch_size or int(_setting("CPMS_AUDIT_SEAL_BATCH", 10_000))
    settle = _setting("CPMS_AUDIT_SETTLE_SECONDS", 2) if settle_seconds is None else settle_seconds
    total = 0
    size = 0
    batches = 0
    while True:
        with transaction.atomic():
            if not _take_sealer_lock():
                return SealResult(sealed=total, tree_size=size, checkpoint=None, busy=True)
            cutoff = timezone.now() - timedelta(seconds=settle)
            sealed, size = _seal_batch(batch_size=batch_size, cutoff=cutoff, horizon=_horizon(full))
        total += sealed
        batches += 1
        if sealed < batch_size or (max_batches is not None and batches >= max_batches):
            break
    written = None
    if checkpoint != "never":
        written = checkpoint_write(actor=actor, force=checkpoint == "force")
    return SealResult(sealed=total, tree_size=size, checkpoint=written)


def checkpoint_write(*, actor: Any = None, force: bool = False) -> AuditCheckpoint | None:
    """Sign (tree size, root, time) when the interval has passed and the tree has grown, or
    always with `force`. Returns the new checkpoint or None."""
    with transaction.atomic():
        if not _take_sealer_lock():
            return None
        size = sealed_size()
        last = AuditCheckpoint.objects.order_by("-pk").first()
        now = timezone.now()
        interval = timedelta(seconds=_setting("CPMS_AUDIT_CHECKPOINT_SECONDS", 300))
        if not force:
            if size == 0 or (last is not None and last.tree_size == size):
                return None
            if last is not None and now - last.created_at < interval:
                return None
        root = tree.TreeReader(size, fetch_units).root().hex()
        public = signing.public_key_bytes()
        return AuditCheckpoint.objects.create(
            tree_size=size,
            root_hash=root,
            created_at=now,
            key_id=signing.key_id(public),
            signature=signing.sign(signing.checkpoint_message(size, root, now)),
        )


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
