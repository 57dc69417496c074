"""Every write of the privacy layer: data keys (create, destroy, re-wrap), protected values
(encrypt + index onto a row), and audited reveals."""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.bulk import insert_rows
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.privacy import keys, selectors
from cpms.privacy.errors import (
    IntegrityFailed,
    MasterKeyMissing,
    RateLimited,
    ReasonRequired,
    SubjectErased,
)
from cpms.privacy.models import DataKey
from cpms.privacy.protected import (
    ERASED,
    aad_of,
    index_purpose,
    pii_read,
    resolve_target,
    spec_of,
    subject_of,
)

logger = logging.getLogger(__name__)

REVEAL_REASON_MIN_LENGTH = 5
REVEAL_PERMISSION = "pii.reveal"
DEFAULT_REVEAL_LIMIT = 20
DEFAULT_REVEAL_WINDOW_SECONDS = 3600
DATA_KEY_OBJECT_TYPE = "privacy.datakey"


def _person(actor: Any) -> Any:
    """The actor as the audit trail wants it: a user, or None for the system."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor


# --- data keys ----------------------------------------------------------------------------


def data_key_ensure(*, actor: Any, subject_type: str, subject_id: str) -> DataKey:
    """The subject's data key, created (and audited) on first use. A subject whose key was
    destroyed stays erased: new personal data for it is refused."""
    subject_type, subject_id = str(subject_type), str(subject_id)
    with transaction.atomic():
        existing = DataKey.objects.filter(subject_type=subject_type, subject_id=subject_id).first()
        if existing is None:
            key_id = secrets.token_hex(8)
            wrapped, master_id = keys.wrap(
                subject_type=subject_type,
                subject_id=subject_id,
                key_id=key_id,
                key=crypto.new_key(),
            )
            try:
                with transaction.atomic():  # savepoint: a concurrent creator may win the race
                    created = DataKey.objects.create(
                        subject_type=subject_type,
                        subject_id=subject_id,
                        key_id=key_id,
                        wrapped_key=wrapped,
                        master_key_id=master_id,
                    )
            except IntegrityError:
                existing = DataKey.objects.get(subject_type=subject_type, subject_id=subject_id)
            else:
                audit_record(
                    actor=_person(actor),
                    action=AuditAction.DATA_KEY_CREATED,
                    object_type=DATA_KEY_OBJECT_TYPE,
                    object_id=key_id,
                    after={
                        "subject_type": subject_type,
                        "subject_id": subject_id,
                        "master_key_id": master_id,
                    },
                )
                return created
        if existing.is_destroyed:
            raise SubjectErased()
        return existing


def data_keys_bulk_create(
    *, subject_type: str, subject_ids: list[str]
) -> dict[str, crypto.FieldCipher]:
    """One new data key for each subject (what `data_key_ensure` makes), in one INSERT: the bulk
    path of imports. Inside the caller's transaction; each subject's creation entry records it
    (the caller's audit entry, as for `data_key_ensure` called from a registration)."""
    ciphers: dict[str, crypto.FieldCipher] = {}
    rows = []
    now = timezone.now()
    for subject_id in subject_ids:
        key_id = secrets.token_hex(8)
        key = crypto.new_key()
        wrapped, master_id = keys.wrap(
            subject_type=subject_type, subject_id=subject_id, key_id=key_id, key=key
        )
        rows.append(
            DataKey(
                subject_type=subject_type,
                subject_id=subject_id,
                key_id=key_id,
                wrapped_key=wrapped,
                master_key_id=master_id,
                created_at=now,
            )
        )
        ciphers[subject_id] = crypto.FieldCipher(key_id, key)
    insert_rows(DataKey, rows)
    return ciphers


def blind_index_root(*, actor: Any = None) -> bytes:
    """The root key every blind-index key is derived from (HKDF, one per column). It is itself a
    data key wrapped by the master key, so master-key rotation re-wraps it and every stored
    index stays valid: rotation never re-indexes."""
    subject_type, subject_id = keys.BLIND_INDEX_SUBJECT
    row = data_key_ensure(actor=actor, subject_type=subject_type, subject_id=subject_id)
    return keys.blind_root(key_id=row.key_id, wrapped=row.wrapped_key)


def _subject_from(subject: tuple[str, str] | models.Model) -> tuple[str, str]:
    if isinstance(subject, models.Model):
        return subject_of(subject)
    subject_type, subject_id = subject
    return str(subject_type), str(subject_id)


def data_key_destroy(
    *, actor: Any, subject: tuple[str, str] | models.Model, reason: str
) -> DataKey:
    """Crypto-shredding: wipe the subject's wrapped data key. Every value encrypted with it, in
    any table, any backup taken afterwards and any replica, becomes unreadable; reads return
    ERASED. A subject that never had a key gets a destroyed one, so nothing can be written for
    it later. Idempotent: destroying twice changes nothing the second time.

    Blind indexes are keyed hashes, not encrypted values: the erasing service must also blank
    them (`pii_assign(..., values={name: None})`) so a guessed value cannot be confirmed."""
    subject_type, subject_id = _subject_from(subject)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("A reason is required.")})
    if (subject_type, subject_id) == keys.BLIND_INDEX_SUBJECT:
        raise ValidationFailed(_("The blind-index root key cannot be destroyed."))
    with transaction.atomic():
        row = (
            DataKey.objects.select_for_update()
            .filter(subject_type=subject_type, subject_id=subject_id)
            .first()
        )
        if row is not None and row.is_destroyed:
            return row
        now = timezone.now()
        before = None
        if row is None:
            row = DataKey.objects.create(
                subject_type=subject_type,
                subject_id=subject_id,
                key_id=secrets.token_hex(8),
                destroyed_at=now,
                destroyed_by=_person(actor),
            )
        else:
            before = {"master_key_id": row.master_key_id, "destroyed": False}
            row.wrapped_key = ""
            row.master_key_id = ""
            row.destroyed_at = now
            row.destroyed_by = _person(actor)
            row.save(update_fields=["wrapped_key", "master_key_id", "destroyed_at", "destroyed_by"])
        audit_record(
            actor=_person(actor),
            action=AuditAction.DATA_KEY_DESTROYED,
            object_type=DATA_KEY_OBJECT_TYPE,
            object_id=row.key_id,
            before=before,
            after={"subject_type": subject_type, "subject_id": subject_id, "destroyed": True},
            reason=reason,
        )
        transaction.on_commit(keys.forget_cached_keys)
    return row


@dataclass
class RotationReport:
    current_master_key_id: str
    rotated: int = 0
    batches: int = 0
    rotated_from: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)  # key ids that could not be unwrapped


def data_keys_rotate(*, actor: Any, batch_size: int = 200) -> RotationReport:
    """Re-wrap every live data key that is not under the current master key. Each batch is its
    own short transaction (rows locked in primary-key order), so the application keeps running
    and an interrupted run simply continues where it stopped when started again. One audit
    entry per run, with the counts."""
    if batch_size < 1:
        raise ValidationFailed(fields={"batch_size": _("Must be at least 1.")})
    ring = keys.master_keyring()
    report = RotationReport(current_master_key_id=ring.current_id)
    moved: Counter[str] = Counter()
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataKey.objects.select_for_update()
                .filter(destroyed_at__isnull=True, pk__gt=last_pk)
                .exclude(master_key_id=ring.current_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            now = timezone.now()
            changed = []
            for row in batch:
                try:
                    key = keys.unwrap(
                        subject_type=row.subject_type,
                        subject_id=row.subject_id,
                        key_id=row.key_id,
                        wrapped=row.wrapped_key,
                    )
                except (MasterKeyMissing, IntegrityFailed):
                    report.failed.append(row.key_id)
                    continue
                moved[row.master_key_id] += 1
                row.wrapped_key, row.master_key_id = keys.wrap(
                    subject_type=row.subject_type,
                    subject_id=row.subject_id,
                    key_id=row.key_id,
                    key=key,
                )
                row.rotated_at = now
                changed.append(row)
            DataKey.objects.bulk_update(changed, ["wrapped_key", "master_key_id", "rotated_at"])
            report.rotated += len(changed)
            report.batches += 1
            last_pk = batch[-1].pk
    report.rotated_from = dict(sorted(moved.items()))
    with transaction.atomic():
        audit_record(
            actor=_person(actor),
            action=AuditAction.KEYS_ROTATED,
            object_type="privacy.master_key",
            object_id=ring.current_id,
            after={
                "rotated": report.rotated,
                "batches": report.batches,
                "rotated_from": report.rotated_from,
                "failed": len(report.failed),
            },
        )
    return report


# --- protected values ---------------------------------------------------------------------


def pii_assign(
    *, actor: Any, instance: models.Model, values: Mapping[str, str | None]
) -> list[str]:
    """Encrypt `values` (protected field name -> clear value, None or "" to clear) onto a saved
    row and compute their blind indexes. Does not save: the calling service saves with
    `update_fields=<the returned attribute names>` in its own transaction and records its audit
    entry with the protected names in `pii_fields`."""
    spec = spec_of(instance)
    unknown = sorted(set(values) - set(spec.fields))
    if unknown:
        raise ValueError(f"not protected fields of {instance._meta.label}: {unknown}")
    changed: list[str] = []
    with transaction.atomic():
        subject_type, subject_id = subject_of(instance)
        cipher = None
        root = None
        for name, value in values.items():
            declared = spec.fields[name]
            text = "" if value is None else str(value).strip()
            token = index = ""
            if text:
                if cipher is None:
                    row = data_key_ensure(
                        actor=actor, subject_type=subject_type, subject_id=subject_id
                    )
                    cipher = keys.data_cipher(
                        key_id=row.key_id,
                        wrapped=row.wrapped_key,
                        subject_type=subject_type,
                        subject_id=subject_id,
                    )
                token = cipher.encrypt(text, aad_of(instance, name))
                if declared.index is not None:
                    normalised = crypto.NORMALISERS[declared.kind](text)
                    if normalised:
                        root = root or blind_index_root(actor=actor)
                        indexer = crypto.blind_index_for(
                            root, index_purpose(instance, name), declared.kind
                        )
                        index = indexer.raw(normalised)
            setattr(instance, declared.ciphertext, token)
            changed.append(declared.ciphertext)
            if declared.index is not None:
                setattr(instance, declared.index, index)
                changed.append(declared.index)
    return changed


# --- reveal -------------------------------------------------------------------------------


def reveal_limit() -> tuple[int, int]:
    """(reveals allowed, window in seconds) per user; settings CPMS_PII_REVEAL_LIMIT and
    CPMS_PII_REVEAL_WINDOW_SECONDS override the defaults of 20 per hour."""
    return (
        int(getattr(settings, "CPMS_PII_REVEAL_LIMIT", DEFAULT_REVEAL_LIMIT)),
        int(getattr(settings, "CPMS_PII_REVEAL_WINDOW_SECONDS", DEFAULT_REVEAL_WINDOW_SECONDS)),
    )


def _reveal_refused(
    *, actor: Any, object_type: str, object_id: str, field: str, reason: str, code: str
) -> None:
    with transaction.atomic():
        audit_record(
            actor=_person(actor),
            action=AuditAction.PII_REVEAL_REFUSED,
            object_type=object_type,
            object_id=object_id,
            after={"field": field, "refusal": code},
            reason=reason,
        )


def _reveal_target(actor: Any, model: type[models.Model], pk: str) -> models.Model:
    spec = spec_of(model)
    queryset = model._default_manager.all()
    if spec.scope is not None:
        queryset = spec.scope(actor, queryset)
    instance = queryset.filter(pk=pk).first()
    if instance is None:
        raise NotFound()
    return instance


def value_digest(value: str, *, actor: Any = None) -> str:
    """A keyed hash of a revealed value for the audit trail: proves which value was shown to
    whoever holds the keys, but cannot be brute-forced from the audit table alone (a plain
    SHA-256 of an 18-digit resident ID can be)."""
    root = blind_index_root(actor=actor)
    return "hmac-sha256:" + crypto.blind_index(root, "audit-digest", "text", value)


def pii_reveal(*, actor: Any, target: str, field: str, reason: str) -> str:
    """The clear value of one protected field, for a person with `pii.reveal` who gives a reason.
    Audited (`pii.revealed`, the value only as a keyed hash) in the same transaction; refusals
    are audited too (`pii.reveal_refused`) and raise. Returns ERASED for a destroyed key and ""
    for an empty field."""
    model, pk = resolve_target(target)
    if field not in spec_of(model).fields:
        raise ValidationFailed(fields={"field": _("Not a protected field of this record.")})
    object_type = model._meta.label_lower
    reason = (reason or "").strip()
    refusal: dict[str, Any] = {
        "actor": actor,
        "object_type": object_type,
        "object_id": pk,
        "field": field,
        "reason": reason,
    }
    if not user_has_permission(actor, REVEAL_PERMISSION):
        _reveal_refused(**refusal, code=PermissionDenied.code)
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    if len(reason) < REVEAL_REASON_MIN_LENGTH:
        _reveal_refused(**refusal, code=ReasonRequired.code)
        raise ReasonRequired(fields={"reason": _("At least 5 characters.")})
    limit, window = reveal_limit()
    try:
        with transaction.atomic():
            # one reveal at a time per user, so concurrent requests cannot overshoot the limit
            get_user_model()._default_manager.select_for_update().filter(pk=actor.pk).first()
            since = timezone.now() - timedelta(seconds=window)
            if selectors.reveal_count_since(actor, since=since) >= limit:
                raise RateLimited()
            instance = _reveal_target(actor, model, pk)
            value = pii_read(instance, field)
            erased = value == ERASED
            audit_record(
                actor=actor,
                action=AuditAction.PII_REVEALED,
                object_type=object_type,
                object_id=pk,
                after={
                    "field": field,
                    "value_digest": value_digest(value, actor=actor)
                    if value and not erased
                    else None,
                    "erased": erased,
                },
                reason=reason,
            )
    except (RateLimited, NotFound) as exc:
        _reveal_refused(**refusal, code=exc.code)
        raise
    return value or ""


def reveal_budget_charge(
    *, actor: Any, object_type: str, object_id: str, reason: str, details: Mapping[str, Any]
) -> None:
    """Count a reveal made outside `pii_reveal` (personal data in clear in a bulk export)
    against the actor's reveal budget: `privacy.rate_limited` (429) once it is used up, else
    one `pii.revealed` entry (field "*", the details) in the caller's transaction. The actor's
    row is locked, so concurrent charges cannot overshoot the limit. The caller audits a
    refusal (its transaction rolls back)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reveal_budget_charge runs inside the caller's transaction")
    get_user_model()._default_manager.select_for_update().filter(pk=actor.pk).first()
    limit, window = reveal_limit()
    since = timezone.now() - timedelta(seconds=window)
    if selectors.reveal_count_since(actor, since=since) >= limit:
        raise RateLimited()
    audit_record(
        actor=actor,
        action=AuditAction.PII_REVEALED,
        object_type=object_type,
        object_id=object_id,
        after={"field": "*", **details},
        reason=reason,
    )
