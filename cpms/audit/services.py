"""The one way to write the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core import context


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


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    """The fields an entry's hash covers (everything but its id and the hash itself)."""
    return {
        "created_at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "actor_roles": entry.actor_roles,
        "channel": entry.channel,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
    }


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_json(entry_payload(entry))).hexdigest()


def _actor_roles(actor: Any) -> str:
    if actor is None:
        return ""
    names = getattr(actor, "_audit_role_names", None)
    if names is None:
        names = sorted(actor.groups.values_list("name", flat=True))
    return ",".join(names)


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
    if action not in AuditAction.values:
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
