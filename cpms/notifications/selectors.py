"""Reads of notifications. A signed-in user reads their own (addressed to them, or to the
customer whose portal user they are); staff read a customer's through scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from cpms.access.scopes import scoped
from cpms.core.errors import NotFound
from cpms.notifications.models import Notification


def notification_list_own(*, user: Any, unread: bool | None = None) -> QuerySet[Notification]:
    """The signed-in user's notifications (none for an anonymous user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    rows = Notification.objects.filter(Q(user_id=user.pk) | Q(customer__portal_user_id=user.pk))
    if unread is True:
        rows = rows.filter(read_at__isnull=True)
    elif unread is False:
        rows = rows.filter(read_at__isnull=False)
    return rows


def notification_get_own(*, user: Any, pk: Any) -> Notification:
    row = notification_list_own(user=user).filter(pk=pk).first()
    if row is None:
        raise NotFound()
    return row


def notification_unread_count(*, user: Any) -> int:
    return notification_list_own(user=user, unread=True).count()


def notification_list_for_customer(
    *, user: Any, customer: Any, permission: str = "customers.view"
) -> QuerySet[Notification]:
    """Notifications sent to a customer, for staff who may see that customer."""
    return scoped(
        Notification.objects.filter(customer_id=customer.pk), user=user, permission=permission
    )


def notification_list_related(
    *, user: Any, related_type: str, related_id: Any, permission: str = "holdings.view"
) -> QuerySet[Notification]:
    """Notifications about one object (e.g. an incident), for staff who may see its customer."""
    return scoped(
        Notification.objects.filter(related_type=related_type, related_id=str(related_id)),
        user=user,
        permission=permission,
    )
