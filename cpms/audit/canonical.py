"""The canonical bytes of an audit entry: what its hash (and so its leaf) covers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def entry_payload(entry: Any) -> dict[str, Any]:
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


def entry_hash(entry: Any) -> str:
    return hashlib.sha256(canonical_json(entry_payload(entry))).hexdigest()
