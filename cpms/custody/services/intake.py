"""Taking items into custody: the intake itself (a custody-item holding registered through the
holdings services, its custody details and the first event of its timeline) and putting a
received item away on the shelf."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.custody.choices import ConditionGrade, CustodyCategory, CustodyEventKind, CustodyState
from cpms.custody.models import OPERATE_PERMISSION, CustodyItem
from cpms.custody.services._common import (
    ITEM_OBJECT,
    MAX_TEXT,
    _check_custodian,
    _raise,
    _record_event,
    _set_location,
    _step,
    _text,
)
from cpms.holdings.choices import HoldingKind
from cpms.holdings.services import holding_register


@dataclass(frozen=True)
class _Intake:
    """The checked intake form."""

    description: str
    location: str
    serial: str
    notes: str
    custodian: Any


def _intake_check(
    *,
    actor: Any,
    category: str,
    description: str,
    condition_grade: str,
    location: str,
    serial: str,
    condition_notes: str,
    custodian: Any,
) -> _Intake:
    """Validate the intake, every error at once; the custodian defaults to the actor."""
    errors: dict[str, str] = {}
    if category not in CustodyCategory.values:
        errors["category"] = _("Choose a category.")
    if condition_grade not in ConditionGrade.values:
        errors["condition_grade"] = _("Choose a condition grade.")
    description = _text(description, "description", errors, required=True, limit=300)
    location = _text(location, "location", errors, required=True, limit=120)
    serial = _text(serial, "serial", errors, required=False, limit=120)
    notes = _text(condition_notes, "condition_notes", errors, required=False, limit=MAX_TEXT)
    custodian = _check_custodian(custodian, errors) if custodian is not None else actor
    _raise(errors)
    return _Intake(description, location, serial, notes, custodian)


def _intake_record(
    *,
    actor: Any,
    item: CustodyItem,
    intake: _Intake,
    category: str,
    condition_grade: str,
    now: Any,
) -> None:
    """The first event of the item's timeline and its `custody.received` entry."""
    holding = item.holding
    details = {
        "holding_number": holding.holding_number,
        "category": category,
        "serial": intake.serial,
        "condition_grade": condition_grade,
        "location": intake.location,
        "custodian_id": intake.custodian.pk if intake.custodian else None,
    }
    _record_event(
        item,
        actor=actor,
        event=CustodyEventKind.RECEIVE,
        from_state="",
        now=now,
        details=details,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CUSTODY_RECEIVED,
        object_type=ITEM_OBJECT,
        object_id=item.pk,
        after={"state": item.state, "customer_id": holding.customer_id, **details},
    )


def item_receive(
    *,
    actor: Any,
    customer: Any,
    category: str,
    description: str,
    condition_grade: str,
    location: str,
    serial: str = "",
    condition_notes: str = "",
    custodian: Any = None,
    value_minor: int | None = None,
    currency: str = "CNY",
    valued_on: datetime.date | None = None,
    now: Any = None,
) -> CustodyItem:
    """Take an item into custody (state `received`): a custody-item holding for the customer
    plus its details, the first event of its timeline and a `custody.received` entry."""
    require_permission(actor, OPERATE_PERMISSION)
    intake = _intake_check(
        actor=actor,
        category=category,
        description=description,
        condition_grade=condition_grade,
        location=location,
        serial=serial,
        condition_notes=condition_notes,
        custodian=custodian,
    )
    now = now or timezone.now()
    with transaction.atomic():
        holding = holding_register(
            actor=actor,
            customer=customer,
            kind=HoldingKind.CUSTODY_ITEM,
            identifier=intake.serial or f"CUST-{uuid.uuid4().hex[:12].upper()}",
            description=intake.description,
            value_minor=value_minor,
            currency=currency,
            valued_on=valued_on,
            location=intake.location,
            custodian=intake.custodian,
            permission=OPERATE_PERMISSION,
        )
        item = CustodyItem.objects.create(
            holding=holding,
            category=category,
            serial=intake.serial,
            condition_grade=condition_grade,
            condition_notes=intake.notes,
            state=CustodyState.RECEIVED,
            state_changed_at=now,
            received_at=now,
            received_by=actor,
        )
        _intake_record(
            actor=actor,
            item=item,
            intake=intake,
            category=category,
            condition_grade=condition_grade,
            now=now,
        )
    return item


def item_put_away(*, actor: Any, item: Any, location: str = "", now: Any = None) -> CustodyItem:
    """received -> in custody, optionally at a new storage location."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    location = _text(location, "location", errors, required=False, limit=120)
    _raise(errors)
    now = now or timezone.now()

    def apply(locked: CustodyItem) -> None:
        if location:
            _set_location(actor, locked.holding, location, None, now)

    with transaction.atomic():
        return _step(
            actor,
            item,
            event=CustodyEventKind.PUT_AWAY,
            action=AuditAction.CUSTODY_PUT_AWAY,
            now=now,
            details={"location": location},
            apply=apply,
        )
