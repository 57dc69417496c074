"""The holding side of the custody lifecycle. Items in custody (kind `custody_item`) are moved
and closed by cpms/custody/, which calls these services so that only this app writes
`Holding` rows. They run inside the caller's transaction, on the row the caller has already
locked and checked against its transition table; `permission` is the caller's
(`custody.operate`)."""

from __future__ import annotations

from typing import Any

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.holdings.choices import CUSTODY_ITEM_END, HoldingKind, HoldingStatus
from cpms.holdings.errors import HoldingStatusRefused, WrongKind
from cpms.holdings.models import MANAGE_PERMISSION, Holding
from cpms.holdings.services._common import OBJECT_TYPE

CUSTODY_END_STATUSES = (HoldingStatus.RETURNED, HoldingStatus.DISPOSED)


def _custody_item(holding: Holding) -> None:
    if holding.kind != HoldingKind.CUSTODY_ITEM:
        raise WrongKind()


def holding_custody_place(
    *,
    actor: Any,
    holding: Holding,
    location: str,
    custodian: Any = None,
    now: Any,
    permission: str = MANAGE_PERMISSION,
) -> None:
    """Where an item in custody is kept now and, when given, who keeps it. No audit entry of
    its own: the custody event and entry of the step that moved it record the move."""
    require_permission(actor, permission)
    _custody_item(holding)
    values: dict[str, Any] = {"location": location, "updated_at": now}
    if custodian is not None:
        values["custodian"] = custodian
    Holding.objects.filter(pk=holding.pk).update(**values)
    holding.location = location
    if custodian is not None:
        holding.custodian = custodian


def holding_custody_status_set(
    *,
    actor: Any,
    holding: Holding,
    status: str,
    reason: str,
    now: Any,
    permission: str = MANAGE_PERMISSION,
) -> None:
    """An item has left custody (returned to the customer or disposed of): the holding's status
    follows, audited as `holding.status_changed` like any other status change."""
    require_permission(actor, permission)
    _custody_item(holding)
    if status not in CUSTODY_END_STATUSES or not CUSTODY_ITEM_END.allows(holding.status, status):
        raise HoldingStatusRefused(fields={"status": status})
    before = CUSTODY_ITEM_END.move(holding, status)
    holding.status_changed_at = holding.updated_at = now
    holding.save(update_fields=["status", "status_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.HOLDING_STATUS_CHANGED,
        object_type=OBJECT_TYPE,
        object_id=holding.pk,
        before={"status": before},
        after={"status": status},
        reason=reason,
    )
