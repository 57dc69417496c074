"""Incidents on items (damage, loss, …): opening one (a loss marks the item lost), notifying the
customer by the CPMS_INCIDENT_NOTIFY_HOURS deadline (by hand or by the periodic job, which
flags late ones), recording the customer's answer and closing with a resolution."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.custody.choices import INCIDENT_STATES, CustodyState, IncidentKind, IncidentStatus
from cpms.custody.errors import (
    AlreadyNotified,
    IncidentClosed,
    IncidentNotNotified,
    TransitionRefused,
)
from cpms.custody.models import OPERATE_PERMISSION, Incident
from cpms.custody.services._common import (
    INCIDENT_OBJECT,
    MAX_TEXT,
    _locked_item,
    _open_incident,
    _raise,
    _text,
)
from cpms.notifications.services import notification_send


def incident_open(
    *, actor: Any, item: Any, kind: str, description: str, now: Any = None
) -> Incident:
    """Open an incident on an item. Lost (and missing) items become `lost`; the customer must be
    notified within CPMS_INCIDENT_NOTIFY_HOURS (`notify_due_at`)."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    if kind not in IncidentKind.values:
        errors["kind"] = _("Choose the kind of incident.")
    description = _text(description, "description", errors, required=True, limit=MAX_TEXT)
    _raise(errors)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_item(actor, item)
        if locked.state in (CustodyState.RETURNED, CustodyState.DISPOSED):
            raise TransitionRefused(
                _("The item has left custody; no incident can be opened on it."),
                fields={"state": locked.state},
            )
        return _open_incident(actor, locked, kind=kind, description=description, now=now)


def _locked_incident(actor: Any, incident: Any) -> Incident:
    pk = incident.pk if isinstance(incident, Incident) else incident
    row = (
        get_for_user(
            Incident.objects.select_for_update(of=("self",)),
            user=actor,
            pk=pk,
            permission=OPERATE_PERMISSION,
        )
        if actor is not None
        else Incident.objects.select_for_update().get(pk=pk)
    )
    return Incident.objects.select_related("item__holding__customer").get(pk=row.pk)


def _notice_text(incident: Incident) -> tuple[str, str]:
    """The subject and body of the customer's notice."""
    holding = incident.item.holding
    kind = IncidentKind(incident.kind).label
    subject = _("Incident on your item %(number)s: %(kind)s") % {
        "number": holding.holding_number,
        "kind": kind,
    }
    body = _(
        "Dear customer, we must inform you of an incident (%(kind)s) concerning your item "
        "%(number)s “%(description)s” held in our custody.\n\n%(details)s\n\n"
        "Please contact your relationship manager to tell us how you wish us to proceed."
    ) % {
        "kind": kind,
        "number": holding.holding_number,
        "description": holding.description,
        "details": incident.description,
    }
    return subject, body


def _notify(actor: Any, incident: Incident, *, now: Any) -> Incident:
    if incident.status == IncidentStatus.CLOSED:
        raise IncidentClosed()
    if incident.notified_at is not None:
        raise AlreadyNotified()
    subject, body = _notice_text(incident)
    notification = notification_send(
        actor=actor,
        customer=incident.item.holding.customer,
        subject=subject,
        body=body,
        related_type=INCIDENT_OBJECT,
        related_id=incident.pk,
        email=True,
        permission=OPERATE_PERMISSION,
        now=now,
    )
    incident.notified_at = now
    incident.notification = notification
    incident.save(update_fields=["notified_at", "notification"])
    audit_record(
        actor=actor,
        action=AuditAction.INCIDENT_NOTIFIED,
        object_type=INCIDENT_OBJECT,
        object_id=incident.pk,
        after={
            "notification_id": notification.pk,
            "email": notification.email_status,
            "notified_at": now.isoformat(),
            "on_time": now <= incident.notify_due_at,
        },
    )
    return incident


def incident_notify(*, actor: Any, incident: Any, now: Any = None) -> Incident:
    """Notify the customer now (in-app notification + email to the customer's address)."""
    require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        return _notify(actor, _locked_incident(actor, incident), now=now)


def _flag_late(actor: Any, incident: Incident, *, now: Any) -> bool:
    """Flag an incident past its notification deadline (`custody.incident_notify_late`), once."""
    if now <= incident.notify_due_at or incident.notify_late_at is not None:
        return False
    incident.notify_late_at = now
    incident.save(update_fields=["notify_late_at"])
    audit_record(
        actor=actor,
        action=AuditAction.INCIDENT_NOTIFY_LATE,
        object_type=INCIDENT_OBJECT,
        object_id=incident.pk,
        after={
            "notify_due_at": incident.notify_due_at.isoformat(),
            "flagged_at": now.isoformat(),
        },
    )
    return True


def incident_notify_pending(*, actor: Any = None, now: Any = None) -> dict[str, list[int]]:
    """The periodic job: flag open incidents whose customer was not notified by the deadline
    (`custody.incident_notify_late`, once each), then notify every pending one. With an actor,
    only incidents in the actor's scope."""
    if actor is not None:
        require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    pending = Incident.objects.filter(status=IncidentStatus.OPEN, notified_at__isnull=True)
    if actor is not None:
        pending = scoped(pending, user=actor, permission=OPERATE_PERMISSION)
    late: list[int] = []
    notified: list[int] = []
    for pk in list(pending.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            incident = _locked_incident(actor, pk)
            if incident.status != IncidentStatus.OPEN or incident.notified_at is not None:
                continue
            if _flag_late(actor, incident, now=now):
                late.append(incident.pk)
            _notify(actor, incident, now=now)
            notified.append(incident.pk)
    return {"notified": notified, "late": late}


def incident_response_record(
    *, actor: Any, incident: Any, response: str, now: Any = None
) -> Incident:
    """Record what the customer answered (after being notified)."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    response = _text(response, "response", errors, required=True, limit=MAX_TEXT)
    _raise(errors)
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_incident(actor, incident)
        if not INCIDENT_STATES.allows(row.status, IncidentStatus.CLOSED):
            raise IncidentClosed()
        before = {"response": row.customer_response}
        row.customer_response = response
        row.response_recorded_at = now
        row.save(update_fields=["customer_response", "response_recorded_at"])
        audit_record(
            actor=actor,
            action=AuditAction.INCIDENT_RESPONSE_RECORDED,
            object_type=INCIDENT_OBJECT,
            object_id=row.pk,
            before=before,
            after={"response": response},
        )
    return row


def incident_close(*, actor: Any, incident: Any, resolution: str, now: Any = None) -> Incident:
    """Close an incident with its resolution (the customer must have been notified)."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    resolution = _text(resolution, "resolution", errors, required=True, limit=MAX_TEXT)
    _raise(errors)
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_incident(actor, incident)
        if not INCIDENT_STATES.allows(row.status, IncidentStatus.CLOSED):
            raise IncidentClosed()
        if row.notified_at is None:
            raise IncidentNotNotified()
        INCIDENT_STATES.move(row, IncidentStatus.CLOSED)
        row.resolution = resolution
        row.closed_at = now
        row.closed_by = actor
        row.save(update_fields=["status", "resolution", "closed_at", "closed_by"])
        audit_record(
            actor=actor,
            action=AuditAction.INCIDENT_CLOSED,
            object_type=INCIDENT_OBJECT,
            object_id=row.pk,
            before={"status": IncidentStatus.OPEN},
            after={"status": IncidentStatus.CLOSED, "resolution": resolution},
        )
    return row
