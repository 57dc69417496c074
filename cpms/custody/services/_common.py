"""Helpers shared by the custody services: input checks, the locked item (through scope, so an
out-of-scope item answers 404), one step of the transition table with its event and audit
entry, the holding side of a step (through the holdings services, which own `Holding`), and
opening an incident on an item already locked. Private to the package."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from cpms.access.scopes import get_for_user
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.custody.choices import (
    ITEM_STATES,
    LOSS_KINDS,
    CustodyEventKind,
    CustodyState,
)
from cpms.custody.errors import TransitionRefused
from cpms.custody.models import (
    OPERATE_PERMISSION,
    CustodyEvent,
    CustodyItem,
    Incident,
    StocktakeLine,
)
from cpms.holdings.choices import HoldingStatus
from cpms.holdings.models import Holding
from cpms.holdings.services import holding_custody_place, holding_custody_status_set
from cpms.users.models import User

ITEM_OBJECT = "custody.item"
INCIDENT_OBJECT = "custody.incident"
STOCKTAKE_OBJECT = "custody.stocktake"
DISPOSE_ACTION = "holdings.dispose"
MAX_TEXT = 2000


def _text(value: Any, field: str, errors: dict[str, str], *, required: bool, limit: int) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if required and not text:
        errors[field] = _("This field is required.")
    elif len(text) > limit:
        errors[field] = _("At most %(max)d characters.") % {"max": limit}
    return text


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)


def _locked_item(actor: Any, item: CustodyItem | int) -> CustodyItem:
    pk = item.pk if isinstance(item, CustodyItem) else item
    return get_for_user(
        CustodyItem.objects.select_for_update(of=("self",)).select_related(
            "holding", "holding__customer"
        ),
        user=actor,
        pk=pk,
        permission=OPERATE_PERMISSION,
    )


def _check_step(item: CustodyItem, event: str) -> str:
    """The state after `event`, or TransitionRefused (nothing changes)."""
    if not ITEM_STATES.allows(item.state, event):
        raise TransitionRefused(
            _("“%(step)s” is not allowed while the item is “%(state)s”.")
            % {"step": CustodyEventKind(event).label, "state": CustodyState(item.state).label},
            fields={"state": item.state, "event": event},
        )
    return ITEM_STATES.step(item.state, event)


def _record_event(
    item: CustodyItem, *, actor: Any, event: str, from_state: str, now: Any, details: dict
) -> CustodyEvent:
    return CustodyEvent.objects.create(
        item=item,
        kind=event,
        from_state=from_state,
        to_state=item.state,
        at=now,
        actor=actor if getattr(actor, "pk", None) else None,
        details=details,
    )


def _step(
    actor: Any,
    item: CustodyItem | int,
    *,
    event: str,
    action: str,
    now: Any,
    details: dict[str, Any],
    apply: Any = None,
    reason: str = "",
) -> CustodyItem:
    """One transition, inside the caller's transaction: lock, check, apply, event, audit."""
    locked = _locked_item(actor, item)
    target = _check_step(locked, event)
    before = {"state": locked.state, "location": locked.holding.location}
    from_state = locked.state
    if apply is not None:
        apply(locked)
    if target != locked.state:
        ITEM_STATES.move(locked, event)
        locked.state_changed_at = now
    locked.save()
    _record_event(locked, actor=actor, event=event, from_state=from_state, now=now, details=details)
    audit_record(
        actor=actor,
        action=action,
        object_type=ITEM_OBJECT,
        object_id=locked.pk,
        before=before,
        after={"state": locked.state, "event": event, **details},
        reason=reason,
    )
    if locked.state in (CustodyState.RETURNED, CustodyState.DISPOSED):
        _holding_status(actor, locked.holding, locked.state, now=now)
    return locked


def _holding_status(actor: Any, holding: Holding, state: str, *, now: Any) -> None:
    """The item has left custody: its holding becomes returned or disposed of."""
    status = HoldingStatus.RETURNED if state == CustodyState.RETURNED else HoldingStatus.DISPOSED
    holding_custody_status_set(
        actor=actor,
        holding=holding,
        status=status,
        reason=_("Custody item %(state)s") % {"state": CustodyState(state).label},
        now=now,
        permission=OPERATE_PERMISSION,
    )


def _set_location(actor: Any, holding: Holding, location: str, custodian: Any, now: Any) -> None:
    """The item's storage place (and custodian, when given) on its holding."""
    holding_custody_place(
        actor=actor,
        holding=holding,
        location=location,
        custodian=custodian,
        now=now,
        permission=OPERATE_PERMISSION,
    )


def _check_custodian(custodian: Any, errors: dict[str, str]) -> Any:
    if custodian is None:
        return None
    pk = custodian.pk if hasattr(custodian, "pk") else custodian
    user = User.objects.filter(pk=pk, is_active=True, is_staff=True).first()
    if user is None:
        errors["custodian"] = _("Choose an active member of staff.")
    return user


def _notify_hours() -> int:
    return int(getattr(settings, "CPMS_INCIDENT_NOTIFY_HOURS", 24))


def _open_incident(
    actor: Any,
    item: CustodyItem,
    *,
    kind: str,
    description: str,
    now: Any,
    stocktake_line: StocktakeLine | None = None,
) -> Incident:
    """Open an incident on an item the caller has locked (an incident opened by hand or a line
    found missing at a stocktake). A loss marks the item lost first."""
    if kind in LOSS_KINDS:
        _check_step(item, CustodyEventKind.MARK_LOST)
        from_state = ITEM_STATES.move(item, CustodyEventKind.MARK_LOST)
        item.state_changed_at = now
        item.save(update_fields=["state", "state_changed_at"])
        _record_event(
            item,
            actor=actor,
            event=CustodyEventKind.MARK_LOST,
            from_state=from_state,
            now=now,
            details={"incident_kind": kind},
        )
    incident = Incident.objects.create(
        item=item,
        kind=kind,
        description=description,
        stocktake_line=stocktake_line,
        opened_at=now,
        opened_by=actor,
        notify_due_at=now + timedelta(hours=_notify_hours()),
    )
    audit_record(
        actor=actor,
        action=AuditAction.INCIDENT_OPENED,
        object_type=INCIDENT_OBJECT,
        object_id=incident.pk,
        after={
            "item_id": item.pk,
            "kind": kind,
            "item_state": item.state,
            "notify_due_at": incident.notify_due_at.isoformat(),
            "stocktake_line_id": stocktake_line.pk if stocktake_line else None,
        },
    )
    return incident
