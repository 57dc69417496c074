"""Console pages of the data-quality app: review queue, pair detail (side by side, masked),
completeness, stale records and summaries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text
from cpms.core.errors import CpmsError, NotFound
from cpms.quality import selectors, services
from cpms.quality.choices import CandidateStatus, MatchReason, StaleReason
from cpms.quality.forms import DismissForm, MergeForm
from cpms.quality.models import DuplicateCandidate

PERMISSION = selectors.REVIEW_PERMISSION
PAGE_SIZE = 25
QUEUE_ORDERING = ("-score", "-pk")


def _page(request: HttpRequest, queryset: Any, ordering: tuple[str, ...]) -> tuple[list, Any, str]:
    rows, next_cursor, query = console_page(request, queryset, ordering=ordering, limit=PAGE_SIZE)
    return rows, next_cursor, query.urlencode()


def _candidate(request: HttpRequest, pk: int) -> DuplicateCandidate:
    try:
        return selectors.candidate_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


def _reason_labels(reasons: list[str]) -> list[str]:
    return [str(MatchReason(reason).label) for reason in reasons if reason in MatchReason.values]


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    require_staff(request, PERMISSION)
    status = request.GET.get("status") or ""
    candidates = selectors.candidate_list(
        user=request.user, status=status if status in CandidateStatus.values else None
    )
    rows, next_cursor, query = _page(request, candidates, QUEUE_ORDERING)
    masked = selectors.candidate_masked(rows)
    return render(
        request,
        "quality/queue.html",
        {
            "section": "quality",
            "rows": [
                (row, pii, _reason_labels(row.reasons))
                for row, pii in zip(rows, masked, strict=True)
            ],
            "next_cursor": next_cursor,
            "query": query,
            "status": status,
            "statuses": CandidateStatus.choices,
        },
    )


@login_required
def candidate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, PERMISSION)
    candidate = _candidate(request, pk)
    return render(
        request,
        "quality/candidate.html",
        {
            "section": "quality",
            "candidate": candidate,
            "sides": selectors.candidate_sides(candidate),
            "reasons": _reason_labels(candidate.reasons),
            "actionable": candidate.status
            in (CandidateStatus.OPEN, CandidateStatus.MERGE_REQUESTED)
            and not (
                candidate.approval_request is not None
                and candidate.status == CandidateStatus.MERGE_REQUESTED
                and candidate.approval_request.status == "pending"
            ),
            "dismiss_form": DismissForm(),
            "merge_form": MergeForm(candidate=candidate),
        },
    )


@login_required
@require_POST
def candidate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, PERMISSION)
    candidate = _candidate(request, pk)
    form = DismissForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
    else:
        try:
            services.candidate_dismiss(
                actor=request.user, candidate=candidate, reason=form.cleaned_data["reason"]
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Dismissed: the pair will not be flagged again."))
    return redirect("quality:candidate", pk=pk)


@login_required
@require_POST
def candidate_merge(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, PERMISSION)
    candidate = _candidate(request, pk)
    form = MergeForm(request.POST, candidate=candidate)
    if not form.is_valid():
        messages.error(request, _("Choose the customer that stays and give a reason."))
        return redirect("quality:candidate", pk=pk)
    try:
        outcome = services.customers_merge_request(
            actor=request.user,
            candidate=candidate,
            survivor_id=form.cleaned_data["survivor"],
            reason=form.cleaned_data["reason"],
        )
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        if outcome.approval_request is not None:
            messages.success(
                request,
                _("Merge requested: approval request #%(id)s waits for an approver.")
                % {"id": outcome.approval_request.pk},
            )
        else:
            messages.success(request, _("Customers merged."))
    return redirect("quality:candidate", pk=pk)


@login_required
@require_POST
def scan(request: HttpRequest) -> HttpResponse:
    require_staff(request, PERMISSION)
    try:
        report = services.duplicate_scan(actor=request.user)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("Scanned %(customers)d customers: %(flagged)d new possible duplicates.")
            % {"customers": report.customers, "flagged": report.flagged},
        )
    return redirect("quality:queue")


@login_required
def completeness(request: HttpRequest) -> HttpResponse:
    require_staff(request, PERMISSION)
    below = request.GET.get("below") or ""
    customers = selectors.completeness_list(
        user=request.user, below=int(below) if below.isdigit() else None
    )
    rows, next_cursor, query = _page(request, customers, ("completeness", "pk"))
    return render(
        request,
        "quality/completeness.html",
        {
            "section": "quality",
            "rows": rows,
            "next_cursor": next_cursor,
            "query": query,
            "below": below,
            "weights": [
                (selectors.ELEMENT_LABELS[name], points)
                for name, points in selectors.WEIGHTS.items()
            ],
        },
    )


@login_required
def stale(request: HttpRequest) -> HttpResponse:
    require_staff(request, PERMISSION)
    months = request.GET.get("months") or ""
    months_value = int(months) if months.isdigit() and 1 <= int(months) <= 240 else None
    reason = request.GET.get("reason") or ""
    customers = selectors.stale_list(
        user=request.user,
        months=months_value or selectors.DEFAULT_STALE_MONTHS,
        reason=reason if reason in StaleReason.values else None,
    )
    rows, next_cursor, query = _page(request, customers, ("updated_at", "pk"))
    labels = dict(StaleReason.choices)
    return render(
        request,
        "quality/stale.html",
        {
            "section": "quality",
            "rows": [
                (row, [labels[value] for value in selectors.stale_reasons(row)]) for row in rows
            ],
            "next_cursor": next_cursor,
            "query": query,
            "months": months_value or selectors.DEFAULT_STALE_MONTHS,
            "reason": reason,
            "reasons": StaleReason.choices,
        },
    )


@login_required
def summaries(request: HttpRequest) -> HttpResponse:
    require_staff(request, PERMISSION)
    return render(
        request,
        "quality/summaries.html",
        {
            "section": "quality",
            "overview": selectors.overview(user=request.user),
            "summaries": list(selectors.summary_list(user=request.user).order_by("-day")[:30]),
            "merges": list(selectors.merge_list(user=request.user).order_by("-pk")[:20]),
        },
    )


def customer_tab_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    """The "Data quality" tab of a customer: completeness and the pairs it is part of."""
    try:
        _row, result = selectors.completeness_get(user=request.user, customer_id=customer.pk)
    except NotFound:
        return {"quality_visible": False}
    candidates = list(
        selectors.candidate_list(user=request.user, customer_id=customer.pk).order_by(
            "-score", "-pk"
        )[:20]
    )
    return {
        "quality_visible": True,
        "completeness": result,
        "completeness_items": selectors.completeness_rows(result),
        "quality_candidates": [
            (
                candidate,
                candidate.customer_b
                if candidate.customer_a_id == customer.pk
                else candidate.customer_a,
            )
            for candidate in candidates
        ],
    }
