"""Console pages of the audit trail: the searchable log, CSV export, verification status."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cpms.audit import selectors, services
from cpms.audit.choices import AuditAction
from cpms.core import tabular
from cpms.core.authz import require_staff, user_has_permission
from cpms.core.errors import CpmsError
from cpms.core.pagination import keyset_page

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in selectors.FILTER_FIELDS}


@login_required
@require_GET
def entry_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, "audit.view")
    filters = _filters(request)
    error = None
    entries: list[Any] = []
    next_cursor = None
    try:
        entries, next_cursor = keyset_page(
            selectors.entry_list(user=request.user, filters=filters),
            limit=PAGE_SIZE,
            cursor=request.GET.get("cursor") or None,
            ordering=selectors.ENTRY_ORDERING,
        )
    except CpmsError as exc:
        error = exc
    query = request.GET.copy()
    query.pop("cursor", None)
    if next_cursor:
        query["cursor"] = next_cursor
    export_query = request.GET.copy()
    export_query.pop("cursor", None)
    return render(
        request,
        "audit/entry_list.html",
        {
            "section": "audit",
            "entries": entries,
            "filters": filters,
            "error": error,
            "actions": AuditAction.choices,
            "next_query": query.urlencode() if next_cursor else "",
            "export_query": export_query.urlencode(),
            "can_export": user_has_permission(request.user, "audit.export"),
            "can_verify": user_has_permission(request.user, "audit.verify"),
        },
    )


@login_required
@require_GET
def entry_export(request: HttpRequest) -> HttpResponse:
    require_staff(request, "audit.export")
    filters = _filters(request)
    try:
        selectors.clean_filters(filters)
    except CpmsError as exc:
        return render(request, "error.html", {"message": exc.message}, status=exc.status)
    services.audit_export_record(actor=request.user, filters=filters)
    response = StreamingHttpResponse(
        tabular.csv_lines(selectors.entry_rows(user=request.user, filters=filters)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")  # the screen's clock, like the rows
    response["Content-Disposition"] = f'attachment; filename="cpms-audit-{stamp}.csv"'
    return response


def _status_page(request: HttpRequest, result: Any = None) -> HttpResponse:
    return render(
        request,
        "audit/status.html",
        {
            "section": "audit",
            "status": selectors.audit_status(user=request.user),
            "result": result,
            "can_verify": user_has_permission(request.user, "audit.verify"),
        },
    )


@login_required
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    require_staff(request, "audit.view", "audit.verify")
    return _status_page(request)


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    require_staff(request, "audit.verify")
    result = selectors.audit_verify(user=request.user)
    services.audit_verification_record(actor=request.user, result=result)
    return _status_page(request, result)
