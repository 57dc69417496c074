"""Console pages of bank reconciliation: statements (list, detail, upload), the workspace of a
bank account (unmatched lines next to unmatched transfers, manual match with HTMX), breaks
(assign, resolve), CSV profiles (list, define) and the daily report (page, XLSX)."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text
from cpms.core.errors import CpmsError, NotFound
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BreakStatus
from cpms.reconciliation.forms import ProfileForm, UploadForm
from cpms.reconciliation.models import RECONCILE_PERMISSION, VIEW_PERMISSION
from cpms.reconciliation.report import report_xlsx as build_xlsx
from cpms.users.models import User

SECTION = "reconciliation"


def _can_act(request: HttpRequest) -> bool:
    return user_has_permission(request.user, RECONCILE_PERMISSION)


def _bank(request: HttpRequest, pk: int):
    account = selectors.bank_account_list(request.user).filter(pk=pk).first()
    if account is None:
        raise Http404
    return account


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    account = request.GET.get("account") or ""
    query = selectors.statement_list(
        request.user, account_id=int(account) if account.isdigit() else None
    )
    rows, next_cursor, params = console_page(request, query, ordering=("-imported_at", "-pk"))
    return render(
        request,
        "reconciliation/list.html",
        {
            "section": SECTION,
            "rows": rows,
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "accounts": selectors.bank_account_rows(request.user),
            "can_act": _can_act(request),
        },
    )


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    try:
        statement = selectors.statement_get(request.user, pk)
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request,
        "reconciliation/detail.html",
        {
            "section": SECTION,
            "statement": statement,
            "lines": selectors.statement_lines(statement),
            "exponent": statement.account.asset.exponent,
            "can_act": _can_act(request),
        },
    )


def _import_messages(request: HttpRequest, result: services.ImportResult) -> None:
    if result.consistent:
        messages.success(
            request,
            _("Imported %(n)s statement(s): %(m)s line(s) matched.")
            % {"n": len(result.statements), "m": result.matches},
        )
    else:
        messages.warning(
            request,
            _("Imported, but a statement does not add up: it is flagged as a break."),
        )
    if result.not_checkable:
        messages.info(
            request,
            _(
                "%(n)s statement(s) give no balance: balance not checkable (the lines are "
                "imported and matched)."
            )
            % {"n": len(result.not_checkable)},
        )
    for refused in result.refused:
        messages.error(request, _("Not imported: %(reason)s") % {"reason": refused.reason})


@login_required
def statement_upload(request: HttpRequest) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.statement_import(
                actor=request.user,
                data=upload.read(),
                filename=upload.name,
                format=form.cleaned_data["format"] or None,
                profile=form.cleaned_data["profile"] or None,
                account=form.cleaned_data["account"] or None,
            )
        except CpmsError as exc:
            for name, message in exc.fields.items():
                if name in form.fields and isinstance(message, str):
                    form.add_error(name, message)
            form.add_error(None, error_text(exc))
        else:
            _import_messages(request, result)
            return redirect("reconciliation:detail", result.statements[0].pk)
    return render(
        request,
        "reconciliation/upload.html",
        {"section": SECTION, "form": form, "profiles": selectors.profile_list(request.user)},
    )


def _workspace_context(request: HttpRequest, account) -> dict:
    return {
        "section": SECTION,
        "account": account,
        "exponent": account.asset.exponent,
        "lines": list(selectors.unmatched_lines(account)[:200]),
        "transfers": [
            (transfer, selectors.signed_amount(account, transfer))
            for transfer in selectors.unmatched_transfers(account)[:200]
        ],
        "can_act": _can_act(request),
    }


@login_required
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    account = _bank(request, pk)
    return render(request, "reconciliation/workspace.html", _workspace_context(request, account))


@login_required
@require_POST
def match_create(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    account = _bank(request, pk)
    context = _workspace_context(request, account)
    try:
        services.match_create(
            actor=request.user,
            line_id=request.POST.get("line_id"),
            transfer_id=request.POST.get("transfer_id"),
        )
    except CpmsError as exc:
        context["error"] = error_text(exc)
    else:
        context = {**_workspace_context(request, account), "done": _("Matched.")}
    if request.headers.get("HX-Request"):
        return render(request, "reconciliation/partials/_workspace.html", context)
    if "error" in context:
        messages.error(request, context["error"])
    return redirect("reconciliation:workspace", account.pk)


@login_required
@require_POST
def match_undo(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    try:
        match = services.match_undo(
            actor=request.user, match_id=pk, reason=request.POST.get("reason", "")
        )
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        messages.error(request, error_text(exc))
        return redirect(request.POST.get("next") or "reconciliation:list")
    messages.success(request, _("Match undone."))
    return redirect("reconciliation:detail", match.line.statement_id)


@login_required
def break_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    status = request.GET.get("status", BreakStatus.OPEN)
    status = status if status in BreakStatus.values else ""
    rows, next_cursor, params = console_page(
        request,
        selectors.break_list(request.user, status=status or None),
        ordering=("opened_at", "pk"),
    )
    today = timezone.localdate()
    for row in rows:
        row.age = selectors.age_days(row.opened_at, today)
    owners = User.objects.filter(is_active=True, is_staff=True).order_by("username")
    return render(
        request,
        "reconciliation/breaks.html",
        {
            "section": SECTION,
            "rows": rows,
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "status": status,
            "statuses": BreakStatus.choices,
            "owners": [o for o in owners if user_has_permission(o, RECONCILE_PERMISSION)],
            "can_act": _can_act(request),
        },
    )


def _break_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    try:
        if action == "assign":
            services.break_assign(
                actor=request.user, break_id=pk, owner_id=request.POST.get("owner_id")
            )
            messages.success(request, _("Break assigned."))
        else:
            services.break_resolve(actor=request.user, break_id=pk, note=request.POST.get("note"))
            messages.success(request, _("Break resolved."))
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    return redirect("reconciliation:breaks")


@login_required
@require_POST
def break_assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _break_action(request, pk, "assign")


@login_required
@require_POST
def break_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _break_action(request, pk, "resolve")


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    return render(
        request,
        "reconciliation/profiles.html",
        {
            "section": SECTION,
            "profiles": selectors.profile_list(request.user),
            "can_act": _can_act(request),
        },
    )


@login_required
def profile_create(request: HttpRequest) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    form = ProfileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_save(actor=request.user, data=form.profile_data())
        except CpmsError as exc:
            placed = False
            for name, message in exc.fields.items():
                field = str(name).split(".")[0]
                if field in form.fields and isinstance(message, str):
                    form.add_error(field, message)
                    placed = True
            if not placed:
                form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("Profile saved."))
            return redirect("reconciliation:profiles")
    return render(request, "reconciliation/profile_form.html", {"section": SECTION, "form": form})


def _report_date(request: HttpRequest) -> datetime.date:
    try:
        return datetime.date.fromisoformat(request.GET.get("date") or "")
    except ValueError:
        return timezone.localdate()


@login_required
def report(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    on = _report_date(request)
    return render(
        request,
        "reconciliation/report.html",
        {"section": SECTION, "report": selectors.report_build(request.user, on), "date": on},
    )


@login_required
def report_xlsx(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    on = _report_date(request)
    content = build_xlsx(selectors.report_build(request.user, on))
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{on}.xlsx"'
    return response
