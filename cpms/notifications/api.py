"""API of notifications (to be mounted at /api/v1/notifications/): the signed-in user's own
notifications and marking them read. No permission beyond being signed in: every row returned
is addressed to the caller (or to the customer whose portal user the caller is)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from cpms.core.pagination import CursorPagination
from cpms.notifications import selectors, services
from cpms.notifications.schemas import NotificationOut

router = Router(tags=["notifications"])


@router.get("", response=list[NotificationOut], summary="My notifications")
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def notification_list(request: HttpRequest, unread: bool | None = None) -> Any:
    return selectors.notification_list_own(user=request.auth, unread=unread)


@router.post("/{notification_id}/read", response=NotificationOut, summary="Mark read")
def notification_read(request: HttpRequest, notification_id: int) -> Any:
    return services.notification_mark_read(actor=request.auth, notification_id=notification_id)
