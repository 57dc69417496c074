"""Items moving while in custody: check-out and check-in, return to the customer, moves on the
shelf or to another custodian, a lost item found again, and the daily flag of check-outs past
their due date."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.custody.choices import ConditionGrade, CustodyEventKind, CustodyState
from cpms.custody.models import OPERATE_PERMISSION, CustodyItem
from cpms.custody.services._common import (
    ITEM_OBJECT,
    MAX_TEXT,
    _check_custodian,
    _raise,
    _set_location,
    _step,
    _text,
)
from cpms.notifications.services import notification_send


def item_check_out(
    *,
    actor: Any,
    item: Any,
    to_whom: str,
    purpose: str,
    due_on: datetime.date,
    now: Any = None,
) -> CustodyItem:
    """in custody -> checked out, to someone, for a purpose, due back on a date."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    to_whom = _text(to_whom, "to_whom", errors, required=True, limit=200)
    purpose = _text(purpose, "purpose", errors, required=True, limit=300)
    now = now or timezone.now()
    if not isinstance(due_on, datetime.date):
        errors["due_on"] = _("Give the date the item is due back.")
    elif due_on < timezone.localdate(now):
        errors["due_on"] = _("The due date cannot be in the past.")
    _raise(errors)

    def apply(locked: CustodyItem) -> None:
        locked.checked_out_to = to_whom
        locked.checkout_purpose = purpose
        locked.checked_out_at = now
        locked.due_back_on = due_on
        locked.overdue_flagged_at = None

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.CHECK_OUT,
            action=AuditAction.CUSTODY_CHECKED_OUT,
            now=now,
            apply=apply,
            details={"to_whom": to_whom, "purpose": purpose, "due_on": due_on.isoformat()},
        )


def item_check_in(
    *,
    actor: Any,
    item: Any,
    condition_grade: str,
    condition_notes: str = "",
    location: str = "",
    now: Any = None,
) -> CustodyItem:
    """checked out -> back in custody, with the condition on return."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    if condition_grade not in ConditionGrade.values:
        errors["condition_grade"] = _("Choose a condition grade.")
    notes = _text(condition_notes, "condition_notes", errors, required=False, limit=MAX_TEXT)
    location = _text(location, "location", errors, required=False, limit=120)
    _raise(errors)
    now = now or timezone.now()
    details: dict[str, Any] = {}

    def apply(locked: CustodyItem) -> None:
        details.update(
            {
                "checked_out_to": locked.checked_out_to,
                "due_on": locked.due_back_on.isoformat() if locked.due_back_on else None,
                "late": locked.is_overdue(timezone.localdate(now)),
                "condition_before": locked.condition_grade,
                "condition_grade": condition_grade,
                "condition_notes": notes,
                "location": location,
            }
        )
        locked.condition_grade = condition_grade
        if notes:
            locked.condition_notes = notes
        locked.checked_out_to = ""
        locked.checkout_purpose = ""
        locked.checked_out_at = None
        locked.due_back_on = None
        locked.overdue_flagged_at = None
        if location:
            _set_location(actor, locked.holding, location, None, now)

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.CHECK_IN,
            action=AuditAction.CUSTODY_CHECKED_IN,
            now=now,
            apply=apply,
            details=details,
        )


def item_return(
    *,
    actor: Any,
    item: Any,
    collected_by: str,
    id_checked: bool,
    note: str = "",
    condition_grade: str = "",
    now: Any = None,
) -> CustodyItem:
    """-> returned to the customer, acknowledged by the person collecting it (name, identity
    document checked). The holding's status becomes `returned`."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    collected_by = _text(collected_by, "collected_by", errors, required=True, limit=200)
    note = _text(note, "note", errors, required=False, limit=MAX_TEXT)
    if id_checked is not True:
        errors["id_checked"] = _("Check the identity document of the person collecting.")
    if condition_grade and condition_grade not in ConditionGrade.values:
        errors["condition_grade"] = _("Choose a condition grade.")
    _raise(errors)
    now = now or timezone.now()

    def apply(locked: CustodyItem) -> None:
        if condition_grade:
            locked.condition_grade = condition_grade

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.RETURN,
            action=AuditAction.CUSTODY_RETURNED,
            now=now,
            apply=apply,
            details={
                "collected_by": collected_by,
                "id_checked": True,
                "note": note,
                "condition_grade": condition_grade,
            },
        )


def item_move(
    *, actor: Any, item: Any, location: str, custodian: Any = None, now: Any = None
) -> CustodyItem:
    """Move an item on the shelf (received or in custody) and/or hand it to another custodian."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    location = _text(location, "location", errors, required=True, limit=120)
    custodian = _check_custodian(custodian, errors)
    _raise(errors)
    now = now or timezone.now()
    details: dict[str, Any] = {"location": location}

    def apply(locked: CustodyItem) -> None:
        details["from_location"] = locked.holding.location
        if custodian is not None:
            details["from_custodian_id"] = locked.holding.custodian_id
            details["custodian_id"] = custodian.pk
        _set_location(actor, locked.holding, location, custodian, now)

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.MOVE,
            action=AuditAction.CUSTODY_MOVED,
            now=now,
            apply=apply,
            details=details,
        )


def item_found(
    *, actor: Any, item: Any, location: str, note: str = "", now: Any = None
) -> CustodyItem:
    """A lost item is found: lost -> in custody at `location`."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    location = _text(location, "location", errors, required=True, limit=120)
    note = _text(note, "note", errors, required=False, limit=MAX_TEXT)
    _raise(errors)
    now = now or timezone.now()

    def apply(locked: CustodyItem) -> None:
        _set_location(actor, locked.holding, location, None, now)

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.FOUND,
            action=AuditAction.CUSTODY_FOUND,
            now=now,
            apply=apply,
            details={"location": location, "note": note},
        )


# --- overdue check-outs -------------------------------------------------------------------


def _overdue_alert(item: CustodyItem, *, now: Any) -> None:
    """Tell the customer's relationship manager (in-app), when there is one."""
    manager = item.holding.customer.relationship_manager
    if manager is None:
        return
    notification_send(
        actor=None,
        user=manager,
        subject=_("Overdue check-out: %(number)s") % {"number": item.holding.holding_number},
        body=_("%(description)s was due back on %(due)s from %(whom)s.")
        % {
            "description": item.holding.description,
            "due": item.due_back_on.isoformat(),
            "whom": item.checked_out_to,
        },
        related_type=ITEM_OBJECT,
        related_id=item.pk,
        now=now,
    )


def checkout_overdue_flag(*, actor: Any = None, now: Any = None) -> list[int]:
    """The daily job: flag check-outs past their due date (once per check-out), record it
    (`custody.checkout_overdue`) and alert the customer's relationship manager in-app."""
    if actor is not None:
        require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = CustodyItem.objects.filter(
        state=CustodyState.CHECKED_OUT, due_back_on__lt=today, overdue_flagged_at__isnull=True
    )
    if actor is not None:
        rows = scoped(rows, user=actor, permission=OPERATE_PERMISSION)
    flagged: list[int] = []
    for pk in list(rows.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            item = (
                CustodyItem.objects.select_for_update(of=("self",))
                .select_related("holding__customer__relationship_manager")
                .get(pk=pk)
            )
            if not item.is_overdue(today) or item.overdue_flagged_at is not None:
                continue
            item.overdue_flagged_at = now
            item.save(update_fields=["overdue_flagged_at"])
            audit_record(
                actor=actor,
                action=AuditAction.CUSTODY_OVERDUE_FLAGGED,
                object_type=ITEM_OBJECT,
                object_id=item.pk,
                after={
                    "due_on": item.due_back_on.isoformat(),
                    "checked_out_to": item.checked_out_to,
                    "days_late": (today - item.due_back_on).days,
                },
            )
            _overdue_alert(item, now=now)
            flagged.append(item.pk)
    return flagged
