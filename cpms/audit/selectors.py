"""Reads of the audit trail: the log, checkpoints, status, inclusion proofs and verification.
Permission checks happen at the interface (console, API, CLI); `user` is the acting user."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from cpms.audit import merkle, signing, tree, verification
from cpms.audit.canonical import canonical_json, entry_payload
from cpms.audit.choices import AuditAction
from cpms.audit.errors import AuditTreeDamaged, EntryNotCheckpointed, EntryNotSealed
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode
from cpms.core.errors import NotFound, ValidationFailed

FILTER_FIELDS = ("actor", "object_type", "object_id", "action", "since", "until")
ENTRY_ORDERING = ("-pk",)  # not created_at: cursors keep datetimes to the millisecond only


# ---------------------------------------------------------------------------------------------
# the stored tree


def sealed_size() -> int:
    last = AuditLeaf.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    return 0 if last is None else last + 1


def fetch_units(band: int, start: int, end: int) -> list[bytes]:
    """Stored units [start, end) of a band: leaf hashes (band 0) or tile roots (band >= 1)."""
    if end <= start:
        return []
    if band == 0:
        rows = AuditLeaf.objects.filter(sequence__gte=start, sequence__lt=end).order_by("sequence")
        hashes = [bytes(value) for value in rows.values_list("leaf_hash", flat=True)]
    else:
        nodes = AuditNode.objects.filter(
            level=band * tree.TILE_BITS, index__gte=start, index__lt=end
        ).order_by("index")
        hashes = [bytes(value) for value in nodes.values_list("node_hash", flat=True)]
    if len(hashes) != end - start:
        raise AuditTreeDamaged()
    return hashes


def fetch_units_many(ranges: list[tuple[int, int, int]]) -> list[list[bytes]]:
    """Several `fetch_units` ranges (band, start, end) in one query."""
    leaf, node = AuditLeaf._meta.db_table, AuditNode._meta.db_table
    parts: list[str] = []
    params: list[int] = []
    for number, (band, start, end) in enumerate(ranges):
        if band == 0:
            parts.append(
                f'SELECT {number}, "sequence", "leaf_hash" FROM "{leaf}" '  # noqa: S608
                'WHERE "sequence" >= %s AND "sequence" < %s'
            )
            params += [start, end]
        else:
            parts.append(
                f'SELECT {number}, "index", "node_hash" FROM "{node}" '  # noqa: S608
                'WHERE "level" = %s AND "index" >= %s AND "index" < %s'
            )
            params += [band * tree.TILE_BITS, start, end]
    found: list[list[tuple[int, bytes]]] = [[] for _ in ranges]
    for number, position, value in _raw_rows(" UNION ALL ".join(parts), params):
        found[number].append((position, bytes(value)))
    units: list[list[bytes]] = []
    for (_band, start, end), rows in zip(ranges, found, strict=True):
        rows.sort()
        if [position for position, _value in rows] != list(range(start, end)):
            raise AuditTreeDamaged()
        units.append([value for _position, value in rows])
    return units


# ---------------------------------------------------------------------------------------------
# the log


def clean_filters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the known filters; parse the time range (ISO dates or date-times)."""
    filters: dict[str, Any] = {}
    for name in FILTER_FIELDS:
        value = raw.get(name)
        if value in (None, ""):
            continue
        value = value.strip() if isinstance(value, str) else value
        if name in ("since", "until") and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise ValidationFailed(
                    fields={name: _("Use a date like 2026-01-31 or 2026-01-31T09:30.")}
                ) from exc
        if name == "action" and value not in AuditAction.values:
            raise ValidationFailed(fields={"action": _("Unknown action.")})
        filters[name] = value
    return filters


def entry_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[AuditEntry]:
    filters = clean_filters(filters or {})
    entries = AuditEntry.objects.all()
    actor = filters.get("actor")
    if actor:
        by_name = Q(actor_name__icontains=actor) | Q(actor__username__iexact=actor)
        entries = entries.filter(by_name | Q(actor_id=int(actor)) if actor.isdigit() else by_name)
    if "object_type" in filters:
        entries = entries.filter(object_type=filters["object_type"])
    if "object_id" in filters:
        entries = entries.filter(object_id=filters["object_id"])
    if "action" in filters:
        entries = entries.filter(action=filters["action"])
    if "since" in filters:
        entries = entries.filter(created_at__gte=_aware(filters["since"]))
    if "until" in filters:
        entries = entries.filter(created_at__lt=_aware(filters["until"]))
    return entries.select_related("leaf")


def _aware(moment: datetime) -> datetime:
    from django.utils import timezone

    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def entry_get(*, user: Any, pk: int) -> AuditEntry:
    entry = AuditEntry.objects.select_related("leaf").filter(pk=pk).first()
    if entry is None:
        raise NotFound()
    return entry


def sequence_of(entry: AuditEntry) -> int | None:
    try:
        return entry.leaf.sequence
    except AuditLeaf.DoesNotExist:
        return None


def export_header(zone_name: str) -> list[str]:
    """The CSV header in the reader's language; the time column names its zone."""
    return [
        _("ID"),
        _("Sequence"),
        _("Time (%(zone)s)") % {"zone": zone_name},
        _("Actor ID"),
        _("Actor"),
        _("Actor roles"),
        _("Channel"),
        _("IP address"),
        _("User agent"),
        _("Request ID"),
        _("Action"),
        _("Object type"),
        _("Object ID"),
        _("Before"),
        _("After"),
        _("Reason"),
        _("Entry hash"),
    ]


def entry_rows(
    *, user: Any, filters: Mapping[str, Any], zone: tzinfo | None = None
) -> Iterator[list[Any]]:
    """CSV rows (header first) of the filtered log, newest first, streamed. Times are in `zone`
    (default: the active time zone, the one the console shows) as ISO 8601 with the offset,
    and the header names the zone, so a spreadsheet reader sees the screen's clock. The zone
    and the header's language are fixed now, not when the stream is read."""
    from django.utils import timezone

    zone = zone or timezone.get_current_timezone()
    header = export_header(str(getattr(zone, "key", None) or zone))
    return itertools.chain([header], _entry_values(user=user, filters=filters, zone=zone))


def _entry_values(*, user: Any, filters: Mapping[str, Any], zone: tzinfo) -> Iterator[list[Any]]:
    from django.utils import timezone

    entries = entry_list(user=user, filters=filters).order_by(*ENTRY_ORDERING)
    for entry in entries.iterator(chunk_size=2000):
        yield [
            entry.pk,
            "" if sequence_of(entry) is None else sequence_of(entry),
            timezone.localtime(entry.created_at, zone).isoformat(),
            entry.actor_id or "",
            entry.actor_name,
            entry.actor_roles,
            entry.channel,
            entry.ip,
            entry.user_agent,
            entry.request_id,
            entry.action,
            entry.object_type,
            entry.object_id,
            "" if entry.before is None else signing_json(entry.before),
            "" if entry.after is None else signing_json(entry.after),
            entry.reason,
            entry.entry_hash,
        ]


def signing_json(value: Any) -> str:
    return canonical_json({"v": value}).decode()[5:-1]


# ---------------------------------------------------------------------------------------------
# checkpoints, status, proofs, verification


def checkpoint_list(*, user: Any) -> QuerySet[AuditCheckpoint]:
    return AuditCheckpoint.objects.all()


def checkpoint_latest(*, user: Any) -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-pk").first()


def checkpoint_dict(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "time": signing.format_time(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "signed_message": signing.checkpoint_message(
            checkpoint.tree_size, checkpoint.root_hash, checkpoint.created_at
        ).decode(),
    }


def public_key(*, user: Any) -> dict[str, str]:
    raw = signing.public_key_bytes()
    return {
        "algorithm": "Ed25519",
        "key_id": signing.key_id(raw),
        "public_key": raw.hex(),
        "public_key_base64": signing.b64(raw),
        "pem": signing.public_key_pem(),
    }


def audit_status(*, user: Any) -> dict[str, Any]:
    size = sealed_size()
    last_verified = (
        AuditEntry.objects.filter(action=AuditAction.AUDIT_VERIFIED).order_by("-pk").first()
    )
    return {
        "tree_size": size,
        "entries": AuditEntry.objects.count(),
        "unsealed": AuditEntry.objects.filter(leaf__isnull=True).count(),
        "checkpoint": checkpoint_latest(user=user),
        "checkpoints": AuditCheckpoint.objects.count(),
        "last_verified": last_verified,
        "public_key": public_key(user=user),
    }


def _columns(model: Any, alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def _raw_rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a read. On PostgreSQL bound server-side and prepared (Django's client-side binding
    re-plans every call, which is most of a proof's time there) unless queries are watched."""
    if connection.vendor == "postgresql" and not (
        connection.queries_logged or connection.execute_wrappers
    ):
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params or [], prepare=True)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _instance(model: Any, values: list[Any] | tuple[Any, ...]) -> Any:
    """A model instance from raw column values, converted as a query would (times aware in
    UTC, JSON parsed): a proof reads two rows and the query compiler would be half its cost."""
    converted = []
    for field, value in zip(model._meta.concrete_fields, values, strict=True):
        internal = field.get_internal_type()
        if internal == "DateTimeField" and value is not None:
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        elif internal == "JSONField" and isinstance(value, str):
            value = json.loads(value)
        converted.append(value)
    instance = model(*converted)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def entry_proof(*, user: Any, entry_id: int) -> dict[str, Any]:
    """Everything needed to check offline that the entry is in the signed tree (docs/audit.md)."""
    # one round trip: the entry, its leaf's sequence and the latest checkpoint
    entry_fields = len(AuditEntry._meta.concrete_fields)
    checkpoint_table = AuditCheckpoint._meta.db_table
    found = _raw_rows(
        f'SELECT {_columns(AuditEntry, "e")}, l."sequence", {_columns(AuditCheckpoint, "c")} '  # noqa: S608
        f'FROM "{AuditEntry._meta.db_table}" e '
        f'LEFT JOIN "{AuditLeaf._meta.db_table}" l ON l."entry_id" = e."id" '
        f'LEFT JOIN "{checkpoint_table}" c ON c."id" = '
        f'(SELECT MAX("id") FROM "{checkpoint_table}") WHERE e."id" = %s',
        [entry_id],
    )
    if not found:
        raise NotFound()
    row = found[0]
    entry = _instance(AuditEntry, row[:entry_fields])
    sequence = row[entry_fields]
    if sequence is None:
        raise EntryNotSealed()
    latest = row[entry_fields + 1 :]
    checkpoint = _instance(AuditCheckpoint, latest) if latest[0] is not None else None
    if checkpoint is None or checkpoint.tree_size <= sequence:
        raise EntryNotCheckpointed()
    reader = tree.TreeReader(checkpoint.tree_size, fetch_units, fetch_units_many)
    reader.prefetch_inclusion(sequence)
    path = reader.inclusion_proof(sequence)
    leaf = reader.leaf(sequence)
    if merkle.root_from_inclusion(sequence, checkpoint.tree_size, leaf, path).hex() != (
        checkpoint.root_hash
    ):
        raise AuditTreeDamaged()
    return {
        "entry": {
            "id": entry.pk,
            "payload": entry_payload(entry),
            "entry_hash": entry.entry_hash,
        },
        "leaf_index": sequence,
        "leaf_data": tree.leaf_data(sequence, entry.pk, entry.entry_hash).hex(),
        "leaf_hash": leaf.hex(),
        "tree_size": checkpoint.tree_size,
        "audit_path": [node.hex() for node in path],
        "root_hash": checkpoint.root_hash,
        "checkpoint": checkpoint_dict(checkpoint),
        "public_key": verification.known_public_keys().get(checkpoint.key_id, b"").hex(),
    }


def consistency_proof(*, user: Any, old_size: int, new_size: int) -> list[str]:
    if not 0 < old_size <= new_size <= sealed_size():
        raise ValidationFailed(fields={"old_size": _("Use sizes within the sealed tree.")})
    reader = tree.TreeReader(new_size, fetch_units)
    return [node.hex() for node in reader.consistency_proof(old_size)]


def audit_verify(
    *, user: Any, witness: list[tuple[int, Any]] | None = None
) -> verification.VerifyResult:
    """Verify the whole trail; `witness` is `witness.read(path)` of a witness file."""
    return verification.audit_verify(witness)
