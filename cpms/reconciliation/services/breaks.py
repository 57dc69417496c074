"""Breaks: what the matching could not explain (an unmatched line or transfer, a statement
that does not add up) gets an owner and is resolved with a note. Breaks are opened and closed
by import and matching (`_shared.py`); the status moves only from open to resolved here."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.core.locks import lock_row
from cpms.reconciliation import selectors
from cpms.reconciliation.choices import BREAK_STATES, BreakStatus
from cpms.reconciliation.errors import BreakClosed
from cpms.reconciliation.models import RECONCILE_PERMISSION, Break
from cpms.reconciliation.services._shared import BREAK_OBJECT, _int, _require, _user
from cpms.users.models import User


def _break_snapshot(item: Break) -> dict[str, Any]:
    """A break as its audit entries record it."""
    return {
        "kind": item.kind,
        "account": item.account_id,
        "owner_id": item.owner_id,
        "status": item.status,
        "resolution": item.resolution,
    }


def _locked_break(actor: Any, break_id: Any) -> Break:
    """The break, if the actor may see it (404 otherwise), locked for the change."""
    found = selectors.break_get(actor, break_id)
    return lock_row(Break, found.pk)


def break_assign(*, actor: Any, break_id: Any, owner_id: Any) -> Break:
    """Give a break an owner: an active member of staff who may reconcile."""
    _require(actor)
    with transaction.atomic():
        item = _locked_break(actor, break_id)
        if item.status != BreakStatus.OPEN:
            raise BreakClosed()
        owner = User.objects.filter(pk=_int(owner_id), is_active=True, is_staff=True).first()
        if owner is None or not user_has_permission(owner, RECONCILE_PERMISSION):
            raise ValidationFailed(
                fields={
                    "owner_id": _("The owner must be an active member of staff who may reconcile.")
                }
            )
        before = _break_snapshot(item)
        item.owner = owner
        item.save(update_fields=["owner"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_BREAK_ASSIGNED,
            object_type=BREAK_OBJECT,
            object_id=item.pk,
            before=before,
            after=_break_snapshot(item),
        )
        return item


def break_resolve(*, actor: Any, break_id: Any, note: str) -> Break:
    """Resolve an open break with a note saying how (a resolved break stays resolved)."""
    _require(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(fields={"note": _("Say how the break was resolved.")})
    with transaction.atomic():
        item = _locked_break(actor, break_id)
        if not BREAK_STATES.allows(item.status, BreakStatus.RESOLVED):
            raise BreakClosed()
        before = _break_snapshot(item)
        BREAK_STATES.move(item, BreakStatus.RESOLVED)
        item.resolution = note[:4000]
        item.resolved_at = timezone.now()
        item.resolved_by = _user(actor)
        item.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_BREAK_RESOLVED,
            object_type=BREAK_OBJECT,
            object_id=item.pk,
            before=before,
            after=_break_snapshot(item),
            reason=note[:500],
        )
        return item
