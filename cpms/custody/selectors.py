"""Scoped reads of the custody lifecycle. Every function takes the acting user first; reading
needs `holdings.view` (custody items are property), and out-of-scope rows answer 404."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.utils import timezone

from cpms.access.scopes import get_for_user, scoped
from cpms.core.errors import NotFound
from cpms.custody.choices import CustodyState, IncidentStatus
from cpms.custody.models import (
    VIEW_PERMISSION,
    CustodyEvent,
    CustodyItem,
    CustodyPhoto,
    Incident,
    Stocktake,
    StocktakeLine,
)


def item_list(
    *,
    user: Any,
    state: str | None = None,
    location: str | None = None,
    overdue: bool | None = None,
    customer: int | None = None,
    q: str | None = None,
    today: Any = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[CustodyItem]:
    """Items in custody the user may see; `overdue` keeps check-outs past their due date."""
    rows = scoped(CustodyItem.objects.all(), user=user, permission=permission)
    if state:
        rows = rows.filter(state=state)
    if location:
        rows = rows.filter(holding__location=location)
    if customer:
        rows = rows.filter(holding__customer_id=customer)
    if overdue:
        rows = rows.filter(
            state=CustodyState.CHECKED_OUT, due_back_on__lt=today or timezone.localdate()
        )
    q = (q or "").strip()
    if q:
        rows = rows.filter(
            Q(holding__holding_number__iexact=q)
            | Q(serial__icontains=q)
            | Q(holding__description__icontains=q)
            | Q(holding__customer__legal_name__icontains=q)
        )
    return rows.select_related("holding", "holding__customer", "holding__custodian")


def item_overdue(*, user: Any, today: Any = None) -> QuerySet[CustodyItem]:
    """Check-outs past their due date."""
    return item_list(user=user, overdue=True, today=today)


def item_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> CustodyItem:
    return get_for_user(
        CustodyItem.objects.select_related(
            "holding", "holding__customer", "holding__custodian", "received_by"
        ),
        user=user,
        pk=pk,
        permission=permission,
    )


def item_timeline(*, user: Any, item: CustodyItem) -> QuerySet[CustodyEvent]:
    item_get_for_user(user=user, pk=item.pk)
    return item.events.select_related("actor").order_by("at", "pk")


def locations(*, user: Any) -> list[str]:
    rows = scoped(CustodyItem.objects.all(), user=user, permission=VIEW_PERMISSION)
    return sorted(
        {loc for loc in rows.values_list("holding__location", flat=True).distinct() if loc}
    )


def photo_list(*, user: Any, item: CustodyItem) -> QuerySet[CustodyPhoto]:
    item_get_for_user(user=user, pk=item.pk)
    return item.photos.order_by("uploaded_at", "pk")


def photo_get_for_user(*, user: Any, item: CustodyItem, pk: Any) -> CustodyPhoto:
    photo = photo_list(user=user, item=item).filter(pk=pk).first()
    if photo is None:
        raise NotFound()
    return photo


def photo_open(photo: CustodyPhoto) -> Any:
    """The stored file of a photo the caller fetched through scope."""
    return default_storage.open(photo.file.name, "rb")


def incident_list(
    *,
    user: Any,
    status: str | None = None,
    kind: str | None = None,
    item: int | None = None,
    notification_overdue: bool | None = None,
    now: Any = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[Incident]:
    rows = scoped(Incident.objects.all(), user=user, permission=permission)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if item:
        rows = rows.filter(item_id=item)
    if notification_overdue:
        rows = rows.filter(
            status=IncidentStatus.OPEN,
            notified_at__isnull=True,
            notify_due_at__lt=now or timezone.now(),
        )
    return rows.select_related("item__holding__customer", "opened_by")


def incident_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Incident:
    return get_for_user(
        Incident.objects.select_related("item__holding__customer", "opened_by", "closed_by"),
        user=user,
        pk=pk,
        permission=permission,
    )


def stocktake_list(*, user: Any, status: str | None = None) -> QuerySet[Stocktake]:
    rows = scoped(Stocktake.objects.all(), user=user, permission=VIEW_PERMISSION)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("started_by", "closed_by")


def stocktake_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Stocktake:
    return get_for_user(
        Stocktake.objects.select_related("started_by", "closed_by"),
        user=user,
        pk=pk,
        permission=permission,
    )


def stocktake_lines(*, user: Any, stocktake: Stocktake) -> QuerySet[StocktakeLine]:
    """The count sheet: every line of a stocktake the user reached through scope."""
    stocktake_get_for_user(user=user, pk=stocktake.pk)
    return stocktake.lines.select_related("item__holding__customer", "counted_by").order_by(
        "item__holding__holding_number", "pk"
    )
