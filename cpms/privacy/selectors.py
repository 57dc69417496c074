"""Reads of the privacy layer. Protected values are read through `privacy.protected`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.privacy import keys
from cpms.privacy.models import DataKey


def reveal_count_since(user: Any, *, since: datetime) -> int:
    """Reveals the user made since a moment, counted from the audit trail (so the limit holds
    across every process and survives restarts)."""
    return AuditEntry.objects.filter(
        actor_id=user.pk, action=AuditAction.PII_REVEALED, created_at__gte=since
    ).count()


@dataclass(frozen=True)
class MasterKeyCount:
    master_key_id: str
    data_keys: int
    configured: str  # "current", "retired" or "missing"


@dataclass(frozen=True)
class KeyStatus:
    current_master_key_id: str
    retired_master_key_ids: tuple[str, ...]
    by_master_key: tuple[MasterKeyCount, ...]
    live: int
    destroyed: int

    @property
    def pending_rotation(self) -> int:
        return sum(row.data_keys for row in self.by_master_key if row.configured != "current")


def key_status(user: Any) -> KeyStatus:
    """Data keys per master key id, and how many were destroyed."""
    ring = keys.master_keyring()
    counts = (
        DataKey.objects.filter(destroyed_at__isnull=True)
        .values("master_key_id")
        .annotate(total=Count("id"))
        .order_by("master_key_id")
    )
    rows = []
    for row in counts:
        key_id = row["master_key_id"]
        configured = (
            "current"
            if key_id == ring.current_id
            else ("retired" if key_id in ring.by_id else "missing")
        )
        rows.append(MasterKeyCount(key_id, row["total"], configured))
    totals = DataKey.objects.aggregate(
        live=Count("id", filter=Q(destroyed_at__isnull=True)),
        destroyed=Count("id", filter=Q(destroyed_at__isnull=False)),
    )
    return KeyStatus(
        current_master_key_id=ring.current_id,
        retired_master_key_ids=tuple(key_id for key_id in ring.ids if key_id != ring.current_id),
        by_master_key=tuple(rows),
        live=totals["live"],
        destroyed=totals["destroyed"],
    )
