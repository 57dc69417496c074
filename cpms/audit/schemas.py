"""API shapes of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class EntryOut(Schema):
    id: int
    sequence: int | None = Field(None, description="Leaf index once sealed; null before.")
    created_at: datetime
    actor_id: int | None
    actor_name: str
    actor_roles: str
    channel: str
    ip: str
    user_agent: str
    request_id: str
    action: str
    object_type: str
    object_id: str
    before: Any = None
    after: Any = None
    reason: str
    entry_hash: str

    @staticmethod
    def resolve_sequence(entry: Any) -> int | None:
        from cpms.audit.selectors import sequence_of

        return sequence_of(entry)


class EntryFilters(Schema):
    actor: str | None = Field(None, description="User name, actor name (part) or user id.")
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: str | None = Field(None, description="ISO date or date-time, inclusive.")
    until: str | None = Field(None, description="ISO date or date-time, exclusive.")


class CheckpointOut(Schema):
    id: int
    tree_size: int
    root_hash: str
    time: str
    key_id: str
    signature: str
    signed_message: str

    @staticmethod
    def resolve_time(checkpoint: Any) -> str:
        if isinstance(checkpoint, dict):
            return checkpoint["time"]
        from cpms.audit.signing import format_time

        return format_time(checkpoint.created_at)

    @staticmethod
    def resolve_signed_message(checkpoint: Any) -> str:
        if isinstance(checkpoint, dict):
            return checkpoint["signed_message"]
        from cpms.audit.signing import checkpoint_message

        return checkpoint_message(
            checkpoint.tree_size, checkpoint.root_hash, checkpoint.created_at
        ).decode()


class PublicKeyOut(Schema):
    algorithm: str
    key_id: str
    public_key: str
    public_key_base64: str
    pem: str


class ProofEntry(Schema):
    id: int
    payload: dict[str, Any]
    entry_hash: str


class ProofOut(Schema):
    entry: ProofEntry
    leaf_index: int
    leaf_data: str
    leaf_hash: str
    tree_size: int
    audit_path: list[str]
    root_hash: str
    checkpoint: CheckpointOut
    public_key: str
