"""Console page (to be mounted at /notifications/): the signed-in user's notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.core.errors import CpmsError, NotFound
from cpms.core.pagination import keyset_page
from cpms.notifications import selectors, services

PAGE_SIZE = 25


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread = request.GET.get("unread") == "1"
    rows = selectors.notification_list_own(user=request.user, unread=True if unread else None)
    try:
        page, next_cursor = keyset_page(
            rows,
            limit=PAGE_SIZE,
            cursor=request.GET.get("cursor") or None,
            ordering=("-created_at", "-pk"),
        )
    except CpmsError as exc:
        raise Http404 from exc
    return render(
        request,
        "notifications/list.html",
        {
            "section": "notifications",
            "rows": page,
            "next_cursor": next_cursor,
            "unread": unread,
            "unread_count": selectors.notification_unread_count(user=request.user),
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.notification_mark_read(actor=request.user, notification_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("Marked as read."))
    return redirect("notifications:list")
