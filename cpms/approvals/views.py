"""Console pages of the maker-checker: inbox, request detail with decisions, policies."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cpms.approvals import selectors, services
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.forms import DecisionForm, PolicyForm
from cpms.core.authz import user_has_permission
from cpms.core.console import error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.core.money import format_minor
from cpms.core.pagination import keyset_page

PAGE_SIZE = 25
TABS = ("awaiting", "mine", "all")


def _require_inbox(request: HttpRequest) -> None:
    if not request.user.is_staff or not selectors.can_use_approvals(request.user):
        raise PermissionDenied


def _visible(request: HttpRequest, pk: int) -> Any:
    try:
        return selectors.approval_request_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    _require_inbox(request)
    user = request.user
    can_decide = user_has_permission(user, "approvals.decide")
    tabs = [tab for tab in TABS if tab != "all" or selectors.can_configure(user)]
    tab = request.GET.get("tab") or ("awaiting" if can_decide else "mine")
    if tab not in tabs:
        raise Http404
    status = request.GET.get("status") or None
    if status not in (None, *ApprovalStatus.values):
        status = None
    requests = selectors.approval_request_list(
        user=user, status=status, mine=tab == "mine", awaiting_me=tab == "awaiting"
    )
    try:
        rows, next_cursor = keyset_page(
            requests, limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None, ordering=("-pk",)
        )
    except CpmsError as exc:
        raise Http404 from exc
    return render(
        request,
        "approvals/inbox.html",
        {
            "section": "approvals",
            "tab": tab,
            "tabs": tabs,
            "status": status or "",
            "statuses": ApprovalStatus.choices,
            "rows": [
                (
                    row,
                    selectors.action_label(row.action),
                    selectors.approval_count(row),
                    selectors.approval_amount(row),
                )
                for row in rows
            ],
            "next_cursor": next_cursor,
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_inbox(request)
    approval = _visible(request, pk)
    context = selectors.approval_context(user=request.user, request=approval)
    return render(
        request,
        "approvals/detail.html",
        {
            "section": "approvals",
            "approval": approval,
            "action_label": selectors.action_label(approval.action),
            "context": context,
            "amount": context.amount or selectors.approval_amount(approval),
            "approved_by": [
                str(decision.approver)
                for decision in approval.decisions.all()
                if decision.decision == "approved"
            ],
            "payload_digest": selectors.approval_payload_digest(approval)
            if selectors.can_see_payload_digest(request.user)
            else "",
            "approvals": selectors.approval_count(approval),
            "can_decide": selectors.approval_can_decide(user=request.user, request=approval),
            "can_cancel": approval.maker_id == request.user.pk
            and approval.status == ApprovalStatus.PENDING,
            "form": DecisionForm(),
        },
    )


def _decision_view(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    _require_inbox(request)
    _visible(request, pk)
    form = DecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        service(actor=request.user, request_id=pk, reason=reason)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)
    return redirect("approvals:detail", pk=pk)


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decision_view(request, pk, services.approval_approve, _("Approval recorded."))


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decision_view(request, pk, services.approval_reject, _("Request rejected."))


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _decision_view(request, pk, services.approval_cancel, _("Request cancelled."))


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    _require_inbox(request)
    return render(
        request,
        "approvals/policies.html",
        {
            "section": "approvals",
            "policies": [
                (
                    policy,
                    selectors.action_label(policy.action),
                    format_minor(policy.threshold_minor, policy.currency)
                    if policy.threshold_minor is not None
                    else "",
                )
                for policy in selectors.approval_policy_list(user=request.user)
            ],
            "can_configure": selectors.can_configure(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, action: str) -> HttpResponse:
    if not request.user.is_staff or not selectors.can_configure(request.user):
        raise PermissionDenied
    try:
        policy = selectors.approval_policy_get(user=request.user, action=action)
    except NotFound as exc:
        raise Http404 from exc
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                services.approval_policy_update(
                    actor=request.user,
                    action=action,
                    changes=form.changes(),
                    reason=form.cleaned_data["reason"],
                )
            except CpmsError as exc:
                form_errors(form, exc, aliases={"threshold_minor": "threshold"})
            else:
                messages.success(request, _("Policy saved."))
                return redirect("approvals:policies")
    else:
        form = PolicyForm(initial=PolicyForm.initial_from(services.policy_snapshot(policy)))
    return render(
        request,
        "approvals/policy_edit.html",
        {
            "section": "approvals",
            "policy": policy,
            "action_label": selectors.action_label(policy.action),
            "form": form,
        },
    )
