"""Stocktakes of a storage location: a count sheet of the items expected there, each line
counted found or missing, and closing, where every missing item opens a `missing` incident."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.custody.choices import (
    ON_SHELF_STATES,
    STOCKTAKE_STATES,
    CountResult,
    CustodyState,
    IncidentKind,
    StocktakeStatus,
)
from cpms.custody.errors import StocktakeClosed, StocktakeIncomplete
from cpms.custody.models import OPERATE_PERMISSION, CustodyItem, Stocktake, StocktakeLine
from cpms.custody.services._common import (
    STOCKTAKE_OBJECT,
    _locked_item,
    _open_incident,
    _raise,
    _text,
)


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


def _missing_incidents(actor: Any, row: Stocktake, *, now: Any) -> list[int]:
    """A `missing` incident for every missing line whose item is still in custody (the item
    becomes lost). Returns the incidents' ids."""
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
    return incidents


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
        incidents = _missing_incidents(actor, row, now=now)
        STOCKTAKE_STATES.move(row, StocktakeStatus.CLOSED)
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
