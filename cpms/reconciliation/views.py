"""Console pages of bank reconciliation: statements (list, detail, upload), the workspace of a
bank account (open lines next to open transfers, each side filtered and paged in the database,
suggested matches for the selected line, match one or accept a page's suggestions with HTMX),
breaks
(assign, resolve), CSV profiles (list, define) and the daily report (page, XLSX)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.core.money import format_minor
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BreakStatus
from cpms.reconciliation.forms import ProfileForm, SideFilterForm, UploadForm
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
            form_errors(form, exc, unknown="skip", summary=error_text(exc))
        else:
            _import_messages(request, result)
            return redirect("reconciliation:detail", result.statements[0].pk)
    return render(
        request,
        "reconciliation/upload.html",
        {"section": SECTION, "form": form, "profiles": selectors.profile_list(request.user)},
    )


# ------------------------------------------------------------------------------- workspace

LINES, TRANSFERS = "l", "t"
PANE_TARGETS = {"lines-pane": LINES, "transfers-pane": TRANSFERS}
STATE_KEYS = ("statement", "line", "l_page", "t_page")


def _number(value: Any, default: int = 1) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 9 else default


def _side_form(data: QueryDict, prefix: str, account) -> SideFilterForm:
    form = SideFilterForm(data, prefix=prefix, currency=account.asset.code)
    form.is_valid()
    return form


def _page_number(data: QueryDict, prefix: str) -> int:
    # a pager button sends `<prefix>_goto`; the form carries the page shown as `<prefix>_page`;
    # "Filter" (`<prefix>_apply`) starts again at page 1
    if data.get(f"{prefix}_goto"):
        return _number(data.get(f"{prefix}_goto"))
    if data.get(f"{prefix}_apply"):
        return 1
    return _number(data.get(f"{prefix}_page"))


def _state_query(data: QueryDict, *, line: Any = None, pages: dict[str, int] | None = None) -> str:
    """The workspace state (both sides' filters and pages, statement, selected line) as a
    query string for links, redirects and the address bar."""
    query = QueryDict(mutable=True)
    for key in STATE_KEYS:
        if data.get(key):
            query[key] = data.get(key)
    for prefix in (LINES, TRANSFERS):
        for name in ("start", "end", "amount", "q"):
            value = data.get(f"{prefix}-{name}")
            if value:
                query[f"{prefix}-{name}"] = value
        if pages and prefix in pages:
            query[f"{prefix}_page"] = str(pages[prefix])
    if line is not None:
        if line:
            query["line"] = str(line)
        else:
            query.pop("line", None)
    for key in [key for key, value in query.items() if key.endswith("_page") and value == "1"]:
        query.pop(key)
    return query.urlencode()


def _workspace_context(
    request: HttpRequest, account, data: QueryDict, *, panes: tuple[str, ...] = (LINES, TRANSFERS)
) -> dict[str, Any]:
    """Everything the workspace shows, read from `data` (the query string, or the posted
    state after a match): each side filtered and paged in the database, the selected line with
    its suggested transfers, and for the page of lines the suggestion of each line."""
    statement = None
    if data.get("statement"):
        try:
            statement = selectors.statement_get(request.user, data.get("statement"))
        except NotFound as exc:
            raise Http404 from exc
        if statement.account_id != account.pk:
            raise Http404
    selected = None
    wanted = data.get("pick") or data.get("line")
    if wanted:
        try:
            selected = selectors.open_line_get(account, wanted)
        except NotFound as exc:
            raise Http404 from exc
    currency = account.asset.code
    line_form = _side_form(data, LINES, account)
    transfer_form = _side_form(data, TRANSFERS, account)
    context: dict[str, Any] = {
        "section": SECTION,
        "account": account,
        "currency": currency,
        "statement": statement,
        "selected": selected,
        "line_form": line_form,
        "transfer_form": transfer_form,
        "can_act": _can_act(request),
        "window_days": selectors.date_window_days(),
    }
    if LINES in panes:
        lines = selectors.lines_page(
            account,
            line_form.side(),
            statement_id=statement.pk if statement else None,
            page=_page_number(data, LINES),
        )
        suggested = selectors.page_suggestions(account, lines.rows)
        rows = [(line, suggested.get(line.pk)) for line in lines.rows]
        context.update(
            suggestions=(
                selectors.suggestions_for(account, selected) if selected is not None else []
            ),
            lines=lines,
            line_rows=rows,
            accept_pairs=[f"{line.pk}:{transfer.pk}" for line, transfer in rows if transfer],
        )
        if selected is not None:
            ids = [line.pk for line in lines.rows]
            context["selected_on_page"] = selected.pk in ids
            if selected.pk in ids:
                at = ids.index(selected.pk)
                after = ids[at + 1 :] or ids[:at][::-1]
            else:
                after = ids
            context["next_line"] = after[0] if after else ""
    if TRANSFERS in panes:
        context["transfers"] = selectors.transfers_page(
            account, transfer_form.side(), page=_page_number(data, TRANSFERS)
        )
    pages = {}
    if "lines" in context:
        pages[LINES] = context["lines"].number
    if "transfers" in context:
        pages[TRANSFERS] = context["transfers"].number
    context["state"] = _state_query(data, line=selected.pk if selected else 0, pages=pages)
    context["l_page"] = pages.get(LINES, _page_number(data, LINES))
    context["t_page"] = pages.get(TRANSFERS, _page_number(data, TRANSFERS))
    return context


def _render_workspace(request: HttpRequest, account, data: QueryDict, **extra: Any):
    """The whole page, or for HTMX the pane it asked for (the other pane keeps its state: its
    form is included in the request) or both panes."""
    target = None
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        target = request.headers.get("HX-Target", "")
    if target in PANE_TARGETS:
        side = PANE_TARGETS[target]
        context = {**_workspace_context(request, account, data, panes=(side,)), **extra}
        template = "lines" if side == LINES else "transfers"
        response = render(request, f"reconciliation/partials/_{template}.html", context)
    else:
        context = {**_workspace_context(request, account, data), **extra}
        template = "partials/_workspace" if target == "workspace" else "workspace"
        response = render(request, f"reconciliation/{template}.html", context)
    if target is not None:
        response["HX-Push-Url"] = (
            f"{request.path if request.method == 'GET' else _ws_url(account)}?{context['state']}"
        )
    return response


def _ws_url(account) -> str:
    return reverse("reconciliation:workspace", args=[account.pk])


@login_required
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    account = _bank(request, pk)
    return _render_workspace(request, account, request.GET)


def _after_write(request: HttpRequest, account, data: QueryDict, **extra: Any) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return _render_workspace(request, account, data, **extra)
    if extra.get("error"):
        messages.error(request, extra["error"])
    elif extra.get("done"):
        messages.success(request, extra["done"])
    return redirect(f"{_ws_url(account)}?{_state_query(data)}")


@login_required
@require_POST
def match_create(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, RECONCILE_PERMISSION)
    account = _bank(request, pk)
    data = request.POST.copy()
    try:
        line = selectors.line_get(request.user, request.POST.get("line_id"))
    except NotFound as exc:
        raise Http404 from exc
    if line.statement.account_id != account.pk:
        raise Http404
    try:
        services.match_create(
            actor=request.user,
            line_id=line.pk,
            transfer_id=request.POST.get("transfer_id"),
        )
    except CpmsError as exc:
        return _after_write(request, account, data, error=error_text(exc))
    # the next open line of the page becomes the selection: Enter, Enter, ... through a day
    data.pop("pick", None)
    data["line"] = ""
    try:
        following = selectors.open_line_get(account, request.POST.get("next_line"))
    except NotFound:
        following = None
    if following is not None:
        data["line"] = str(following.pk)
    done = _("Matched: line of %(date)s, %(amount)s.") % {
        "date": line.booking_date.isoformat(),
        "amount": format_minor(line.amount_minor, account.asset.code),
    }
    return _after_write(request, account, data, done=done)


@login_required
@require_POST
def match_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the suggested matches shown on a page of lines (each through match_create)."""
    require_staff(request, RECONCILE_PERMISSION)
    account = _bank(request, pk)
    data = request.POST.copy()
    pairs = []
    for item in request.POST.getlist("pair"):
        line_id, _sep, transfer_id = item.partition(":")
        if not (line_id.isdigit() and transfer_id.isdigit()):
            return _after_write(request, account, data, error=_("The suggestions are unreadable."))
        pairs.append((int(line_id), int(transfer_id)))
    try:
        result = services.match_accept(actor=request.user, account_id=account.pk, pairs=pairs)
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        return _after_write(request, account, data, error=error_text(exc))
    data.pop("pick", None)
    data["line"] = ""
    done = _("%(n)s suggested matches accepted.") % {"n": len(result.matches)}
    extra: dict[str, Any] = {"done": done}
    if result.skipped:
        extra["skipped"] = [reason for _line, _transfer, reason in result.skipped]
        extra["error"] = _("%(n)s not matched:") % {"n": len(result.skipped)}
    return _after_write(request, account, data, **extra)


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
            # "columns.amount" belongs next to "columns": an alias covers the dotted parts
            aliases = {name: name for name in form.fields}
            form_errors(form, exc, aliases=aliases, unknown="skip", fallback=error_text(exc))
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
