"""Every write of the custody lifecycle. Each function checks `custody.operate`, locks the item
(through scope: out-of-scope items answer 404), checks the step against `choices.TRANSITIONS`,
writes an append-only `CustodyEvent` and its audit entry, all in one transaction. Terminal
states also set the holding's status (audited as `holding.status_changed`). Disposal goes through
maker-checker (`holdings.dispose`)."""

from __future__ import annotations

import datetime
import hashlib
import io
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_submit
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.custody.choices import (
    LOSS_KINDS,
    ON_SHELF_STATES,
    TRANSITIONS,
    ConditionGrade,
    CountResult,
    CustodyCategory,
    CustodyEventKind,
    CustodyState,
    IncidentKind,
    IncidentStatus,
    PhotoStage,
    StocktakeStatus,
)
from cpms.custody.errors import (
    AlreadyNotified,
    DisposalPending,
    IncidentClosed,
    IncidentNotNotified,
    PhotoRefused,
    StocktakeClosed,
    StocktakeIncomplete,
    TransitionRefused,
)
from cpms.custody.models import (
    OPERATE_PERMISSION,
    CustodyEvent,
    CustodyItem,
    CustodyPhoto,
    Incident,
    Stocktake,
    StocktakeLine,
)
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import Holding
from cpms.holdings.services import holding_register

ITEM_OBJECT = "custody.item"
INCIDENT_OBJECT = "custody.incident"
STOCKTAKE_OBJECT = "custody.stocktake"
HOLDING_OBJECT = "holdings.holding"
DISPOSE_ACTION = "holdings.dispose"
PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
MAX_TEXT = 2000


# --- helpers ------------------------------------------------------------------------------


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
    sources, target = TRANSITIONS[event]
    if item.state not in sources:
        raise TransitionRefused(
            _("“%(step)s” is not allowed while the item is “%(state)s”.")
            % {"step": CustodyEventKind(event).label, "state": CustodyState(item.state).label},
            fields={"state": item.state, "event": event},
        )
    return target or item.state


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
        locked.state = target
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
    status = HoldingStatus.RETURNED if state == CustodyState.RETURNED else HoldingStatus.DISPOSED
    before = holding.status
    Holding.objects.filter(pk=holding.pk).update(
        status=status, status_changed_at=now, updated_at=now
    )
    holding.status = status
    audit_record(
        actor=actor,
        action=AuditAction.HOLDING_STATUS_CHANGED,
        object_type=HOLDING_OBJECT,
        object_id=holding.pk,
        before={"status": before},
        after={"status": status},
        reason=_("Custody item %(state)s") % {"state": CustodyState(state).label},
    )


def _set_location(actor: Any, holding: Holding, location: str, custodian: Any, now: Any) -> None:
    values: dict[str, Any] = {"location": location, "updated_at": now}
    if custodian is not None:
        values["custodian"] = custodian
    Holding.objects.filter(pk=holding.pk).update(**values)
    holding.location = location
    if custodian is not None:
        holding.custodian = custodian


def _check_custodian(custodian: Any, errors: dict[str, str]) -> Any:
    if custodian is None:
        return None
    from cpms.users.models import User

    pk = custodian.pk if hasattr(custodian, "pk") else custodian
    user = User.objects.filter(pk=pk, is_active=True, is_staff=True).first()
    if user is None:
        errors["custodian"] = _("Choose an active member of staff.")
    return user


# --- intake -------------------------------------------------------------------------------


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
    now = now or timezone.now()
    with transaction.atomic():
        holding = holding_register(
            actor=actor,
            customer=customer,
            kind=HoldingKind.CUSTODY_ITEM,
            identifier=serial or f"CUST-{uuid.uuid4().hex[:12].upper()}",
            description=description,
            value_minor=value_minor,
            currency=currency,
            valued_on=valued_on,
            location=location,
            custodian=custodian,
            permission=OPERATE_PERMISSION,
        )
        item = CustodyItem.objects.create(
            holding=holding,
            category=category,
            serial=serial,
            condition_grade=condition_grade,
            condition_notes=notes,
            state=CustodyState.RECEIVED,
            state_changed_at=now,
            received_at=now,
            received_by=actor,
        )
        details = {
            "holding_number": holding.holding_number,
            "category": category,
            "serial": serial,
            "condition_grade": condition_grade,
            "location": location,
            "custodian_id": custodian.pk if custodian else None,
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


# --- disposal (maker-checker) ------------------------------------------------------------


def item_dispose_request(
    *,
    actor: Any,
    item: Any,
    consent_reference: str,
    method: str,
    reason: str,
) -> Any:
    """Ask to dispose of an item in custody. Needs the customer's written consent reference;
    goes through maker-checker (`holdings.dispose`). Returns the pending ApprovalRequest, or the
    disposed item when the policy is switched off."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    consent_reference = _text(
        consent_reference, "consent_reference", errors, required=True, limit=120
    )
    method = _text(method, "method", errors, required=True, limit=200)
    reason = _text(reason, "reason", errors, required=True, limit=MAX_TEXT)
    _raise(errors)
    with transaction.atomic():
        locked = _locked_item(actor, item)
        _check_step(locked, CustodyEventKind.DISPOSE)
        if ApprovalRequest.objects.filter(
            action=DISPOSE_ACTION,
            object_type=ITEM_OBJECT,
            object_id=str(locked.pk),
            status="pending",
        ).exists():
            raise DisposalPending()
        payload = {
            "item_id": locked.pk,
            "holding_number": locked.holding.holding_number,
            "description": locked.holding.description,
            "consent_reference": consent_reference,
            "method": method,
        }
        outcome = approval_submit(
            actor=actor,
            action=DISPOSE_ACTION,
            payload=payload,
            object_type=ITEM_OBJECT,
            object_id=locked.pk,
            amount_minor=locked.holding.value_minor,
            currency=locked.holding.currency,
            reason=reason,
        )
        if outcome.required:
            return outcome.request
        return _dispose(actor, locked, payload, approval_id=None, approver=None, reason=reason)


def _dispose(
    actor: Any, item: CustodyItem, payload: dict, *, approval_id: Any, approver: Any, reason: str
) -> CustodyItem:
    now = timezone.now()
    return _step(
        actor,
        item,
        event=CustodyEventKind.DISPOSE,
        action=AuditAction.CUSTODY_DISPOSED,
        now=now,
        reason=reason,
        details={
            "consent_reference": payload["consent_reference"],
            "method": payload["method"],
            "approval_id": approval_id,
            "approved_by_id": getattr(approver, "pk", None),
        },
    )


def item_dispose_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `holdings.dispose` request: the disposal is made in the maker's
    name (permission and scope checked again now) inside the final approval's transaction."""
    payload = request.payload
    item = _dispose(
        request.maker,
        payload["item_id"],
        payload,
        approval_id=request.pk,
        approver=actor,
        reason=f"{request.reason} (approval #{request.pk})".strip(),
    )
    return {"item_id": item.pk, "state": item.state}


def item_dispose_describe(payload: dict[str, Any]) -> str:
    return _("Dispose of %(number)s %(description)s (consent %(consent)s)") % {
        "number": payload.get("holding_number", ""),
        "description": payload.get("description", ""),
        "consent": payload.get("consent_reference", ""),
    }


# --- photos and receipt -------------------------------------------------------------------


def _image_facts(data: bytes) -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of an image checked by Pillow on its content."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused(
            fields={"file": _("This file is not an image (JPEG, PNG or WebP).")}
        ) from None
    if image_format not in PHOTO_FORMATS:
        raise PhotoRefused(fields={"file": _("Use a JPEG, PNG or WebP image.")})
    content_type, extension = PHOTO_FORMATS[image_format]
    return content_type, extension, width, height


def photo_add(
    *,
    actor: Any,
    item: Any,
    data: bytes,
    stage: str,
    original_name: str = "",
    note: str = "",
    now: Any = None,
) -> CustodyPhoto:
    """Attach a photo: images only (checked on the content), at most CPMS_UPLOAD_MAX_BYTES,
    SHA-256 recorded, stored through Django's default storage under a generated name."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    if stage not in PhotoStage.values:
        errors["stage"] = _("Choose a stage.")
    note = _text(note, "note", errors, required=False, limit=300)
    _raise(errors)
    limit = settings.CPMS_UPLOAD_MAX_BYTES
    if not data:
        raise PhotoRefused(fields={"file": _("The file is empty.")})
    if len(data) > limit:
        raise PhotoRefused(
            fields={"file": _("The file is larger than %(mb)d MiB.") % {"mb": limit // 1048576}}
        )
    content_type, extension, width, height = _image_facts(data)
    digest = hashlib.sha256(data).hexdigest()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_item(actor, item)
        name = default_storage.save(
            f"custody/{locked.pk}/{uuid.uuid4().hex}.{extension}", ContentFile(data)
        )
        # a rolled-back upload must not leave its file behind
        try:
            photo = CustodyPhoto.objects.create(
                item=locked,
                stage=stage,
                file=name,
                sha256=digest,
                size=len(data),
                content_type=content_type,
                width=width,
                height=height,
                original_name=(original_name or "")[:200],
                note=note,
                uploaded_by=actor,
                uploaded_at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CUSTODY_PHOTO_ADDED,
                object_type=ITEM_OBJECT,
                object_id=locked.pk,
                after={
                    "photo_id": photo.pk,
                    "stage": stage,
                    "sha256": digest,
                    "size": len(data),
                    "content_type": content_type,
                },
            )
        except Exception:
            default_storage.delete(name)
            raise
    return photo


def receipt_issue(*, actor: Any, item: Any, now: Any = None) -> bytes:
    """The intake receipt PDF of an item (recorded as `custody.receipt_issued`)."""
    from cpms.custody.receipt import render_receipt

    require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_item(actor, item)
        photos = locked.photos.count()
        pdf = render_receipt(locked, photos=photos, issued_at=now, issued_by=actor)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTODY_RECEIPT_ISSUED,
            object_type=ITEM_OBJECT,
            object_id=locked.pk,
            after={"sha256": hashlib.sha256(pdf).hexdigest(), "photos": photos},
        )
    return pdf


# --- incidents ----------------------------------------------------------------------------


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
    if kind in LOSS_KINDS:
        _check_step(item, CustodyEventKind.MARK_LOST)
        from_state = item.state
        item.state = CustodyState.LOST
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


def _notify(actor: Any, incident: Incident, *, now: Any) -> Incident:
    from cpms.notifications.services import notification_send

    if incident.status == IncidentStatus.CLOSED:
        raise IncidentClosed()
    if incident.notified_at is not None:
        raise AlreadyNotified()
    holding = incident.item.holding
    customer = holding.customer
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
    notification = notification_send(
        actor=actor,
        customer=customer,
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
            if now > incident.notify_due_at and incident.notify_late_at is None:
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
        if row.status == IncidentStatus.CLOSED:
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
        if row.status == IncidentStatus.CLOSED:
            raise IncidentClosed()
        if row.notified_at is None:
            raise IncidentNotNotified()
        row.status = IncidentStatus.CLOSED
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


# --- overdue check-outs -------------------------------------------------------------------


def checkout_overdue_flag(*, actor: Any = None, now: Any = None) -> list[int]:
    """The daily job: flag check-outs past their due date (once per check-out), record it
    (`custody.checkout_overdue`) and alert the customer's relationship manager in-app."""
    from cpms.notifications.services import notification_send

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
            manager = item.holding.customer.relationship_manager
            if manager is not None:
                notification_send(
                    actor=None,
                    user=manager,
                    subject=_("Overdue check-out: %(number)s")
                    % {"number": item.holding.holding_number},
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
            flagged.append(item.pk)
    return flagged


# --- stocktakes ---------------------------------------------------------------------------


def stocktake_start(*, actor: Any, location: str, note: str = "", now: Any = None) -> Stocktake:
    """Start a stocktake of a location: one count line per item (in the actor's scope)
    expected there (received or in custody)."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    location = _text(location, "location", errors, required=True, limit=120)
    note = _text(note, "note", errors, required=False, limit=300)
    _raise(errors)
    now = now or timezone.now()
    with transaction.atomic():
        stocktake = Stocktake.objects.create(
            location=location,
            branch_id=getattr(actor, "branch_id", None),
            started_at=now,
            started_by=actor,
            note=note,
        )
        items = scoped(
            CustodyItem.objects.filter(
                holding__location=location, state__in=sorted(ON_SHELF_STATES)
            ),
            user=actor,
            permission=OPERATE_PERMISSION,
        ).order_by("pk")
        lines = StocktakeLine.objects.bulk_create(
            [StocktakeLine(stocktake=stocktake, item=item) for item in items]
        )
        audit_record(
            actor=actor,
            action=AuditAction.STOCKTAKE_STARTED,
            object_type=STOCKTAKE_OBJECT,
            object_id=stocktake.pk,
            after={"location": location, "lines": len(lines)},
        )
    return stocktake


def _locked_stocktake(actor: Any, stocktake: Any) -> Stocktake:
    pk = stocktake.pk if isinstance(stocktake, Stocktake) else stocktake
    row = get_for_user(
        Stocktake.objects.select_for_update(), user=actor, pk=pk, permission=OPERATE_PERMISSION
    )
    if row.status != StocktakeStatus.OPEN:
        raise StocktakeClosed()
    return row


def stocktake_count(
    *, actor: Any, stocktake: Any, item: Any, result: str, note: str = "", now: Any = None
) -> StocktakeLine:
    """Record one line of the count sheet as found or missing (may be corrected while open)."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    if result not in (CountResult.FOUND, CountResult.MISSING):
        errors["result"] = _("Record the item as found or missing.")
    note = _text(note, "note", errors, required=False, limit=300)
    _raise(errors)
    now = now or timezone.now()
    item_pk = item.pk if isinstance(item, CustodyItem) else item
    with transaction.atomic():
        row = _locked_stocktake(actor, stocktake)
        line = (
            StocktakeLine.objects.select_for_update().filter(stocktake=row, item_id=item_pk).first()
        )
        if line is None:
            raise ValidationFailed(fields={"item": _("This item is not on the count sheet.")})
        before = {"result": line.result}
        line.result = result
        line.note = note
        line.counted_at = now
        line.counted_by = actor
        line.save(update_fields=["result", "note", "counted_at", "counted_by"])
        audit_record(
            actor=actor,
            action=AuditAction.STOCKTAKE_COUNTED,
            object_type=STOCKTAKE_OBJECT,
            object_id=row.pk,
            before=before,
            after={"item_id": item_pk, "result": result, "note": note},
        )
    return line


def stocktake_close(*, actor: Any, stocktake: Any, now: Any = None) -> Stocktake:
    """Close a fully counted stocktake; every missing line opens a `missing` incident (the item
    becomes lost)."""
    require_permission(actor, OPERATE_PERMISSION)
    now = now or timezone.now()
    with transaction.atomic():
        row = _locked_stocktake(actor, stocktake)
        pending = row.lines.filter(result=CountResult.PENDING).count()
        if pending:
            raise StocktakeIncomplete(fields={"pending": pending})
        incidents: list[int] = []
        for line in row.lines.filter(result=CountResult.MISSING).order_by("pk"):
            item = _locked_item(actor, line.item_id)
            if item.state in (CustodyState.RETURNED, CustodyState.DISPOSED, CustodyState.LOST):
                continue
            description = _("Not found at stocktake #%(number)s of %(location)s.") % {
                "number": row.pk,
                "location": row.location,
            }
            if line.note:
                description = f"{description} {line.note}"
            incident = _open_incident(
                actor,
                item,
                kind=IncidentKind.MISSING,
                description=description,
                now=now,
                stocktake_line=line,
            )
            incidents.append(incident.pk)
        row.status = StocktakeStatus.CLOSED
        row.closed_at = now
        row.closed_by = actor
        row.save(update_fields=["status", "closed_at", "closed_by"])
        counts = {
            result: row.lines.filter(result=result).count()
            for result in (CountResult.FOUND, CountResult.MISSING)
        }
        audit_record(
            actor=actor,
            action=AuditAction.STOCKTAKE_CLOSED,
            object_type=STOCKTAKE_OBJECT,
            object_id=row.pk,
            before={"status": StocktakeStatus.OPEN},
            after={"status": StocktakeStatus.CLOSED, **counts, "incidents": incidents},
        )
    return row
