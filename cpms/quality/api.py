"""API of the data-quality app, mounted at /api/v1/quality/ by cpms.config.api. Personal data
is masked; a pair is visible only when both of its customers are in the caller's scope."""

from typing import Any

from django.http import HttpRequest
from ninja import Field as NinjaField
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, CursorPagination, keyset_page
from cpms.quality import selectors, services
from cpms.quality.choices import CandidateStatus, StaleReason
from cpms.quality.models import DuplicateCandidate
from cpms.quality.schemas import (
    CandidateOut,
    CandidatePage,
    CompletenessOut,
    CompletenessRow,
    DismissIn,
    MergeIn,
    MergeOut,
    MergeRequestOut,
    OverviewOut,
    ScanOut,
    StaleRow,
    SummaryOut,
)

router = Router(tags=["quality"])
PERMISSION = selectors.REVIEW_PERMISSION
QUEUE_ORDERING = ("-score", "-pk")


class CandidateFilters(Schema):
    status: CandidateStatus | None = NinjaField(
        None, description="Default: the review queue (open and merge-requested pairs)."
    )
    customer_id: int | None = None
    limit: int = NinjaField(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = NinjaField(None, description="next_cursor of the previous page.")


class CompletenessFilters(Schema):
    below: int | None = NinjaField(None, ge=0, le=101, description="Only scores below this.")
    branch: int | None = None


class StaleFilters(Schema):
    months: int = NinjaField(
        selectors.DEFAULT_STALE_MONTHS, ge=1, le=240, description="Not updated for this long."
    )
    reason: StaleReason | None = None


def _brief(customer: Any, masked: dict[str, str], completeness: dict[int, int]) -> dict:
    return {
        "id": customer.pk,
        "customer_number": customer.customer_number,
        "kind": customer.kind,
        "legal_name": customer.legal_name,
        "name_pinyin": customer.name_pinyin,
        "date_of_birth": customer.date_of_birth,
        "identity_kind": customer.identity_kind,
        "branch_id": customer.branch_id,
        "relationship_manager_id": customer.relationship_manager_id,
        "kyc_status": customer.kyc_status,
        "status": customer.status,
        "completeness": completeness.get(customer.pk, 0),
        **masked,
    }


def _out(user: Any, rows: list[DuplicateCandidate]) -> list[dict[str, Any]]:
    masked = selectors.candidate_masked(rows)
    ids = [pk for row in rows for pk in (row.customer_a_id, row.customer_b_id)]
    completeness = selectors.completeness_map(user=user, ids=ids)
    return [
        {
            "id": row.pk,
            "customer_a": _brief(row.customer_a, pii["a"], completeness),
            "customer_b": _brief(row.customer_b, pii["b"], completeness),
            "reasons": row.reasons,
            "name_similarity": row.name_similarity,
            "score": row.score,
            "status": row.status,
            "first_found_at": row.first_found_at,
            "decided_at": row.decided_at,
            "decided_by_id": row.decided_by_id,
            "decision_reason": row.decision_reason,
            "survivor_id": row.survivor_id,
            "approval_request_id": row.approval_request_id,
        }
        for row, pii in zip(rows, masked, strict=True)
    ]


@router.get("/candidates", response=CandidatePage, summary="Possible duplicates (review queue)")
def candidate_list(request: HttpRequest, filters: Query[CandidateFilters]) -> Any:
    """Highest score first. Keyset-paginated like every list; the page is built here so both
    customers' personal data is masked with one key query."""
    require_permission(request.auth, PERMISSION)
    candidates = selectors.candidate_list(
        user=request.auth, status=filters.status, customer_id=filters.customer_id
    )
    rows, next_cursor = keyset_page(
        candidates, limit=filters.limit, cursor=filters.cursor, ordering=QUEUE_ORDERING
    )
    return {"items": _out(request.auth, rows), "next_cursor": next_cursor}


@router.get("/candidates/{candidate_id}", response=CandidateOut, summary="One possible duplicate")
def candidate_get(request: HttpRequest, candidate_id: int) -> Any:
    require_permission(request.auth, PERMISSION)
    candidate = selectors.candidate_get_for_user(user=request.auth, pk=candidate_id)
    return _out(request.auth, [candidate])[0]


@router.post(
    "/candidates/{candidate_id}/dismiss", response=CandidateOut, summary="Dismiss: not a duplicate"
)
def candidate_dismiss(request: HttpRequest, candidate_id: int, data: DismissIn) -> Any:
    require_permission(request.auth, PERMISSION)
    candidate = selectors.candidate_get_for_user(user=request.auth, pk=candidate_id)
    services.candidate_dismiss(actor=request.auth, candidate=candidate, reason=data.reason)
    return _out(
        request.auth, [selectors.candidate_get_for_user(user=request.auth, pk=candidate_id)]
    )[0]


@router.post(
    "/candidates/{candidate_id}/merge",
    response=MergeRequestOut,
    summary="Request a merge (maker-checker)",
)
def candidate_merge(request: HttpRequest, candidate_id: int, data: MergeIn) -> Any:
    require_permission(request.auth, PERMISSION)
    candidate = selectors.candidate_get_for_user(user=request.auth, pk=candidate_id)
    outcome = services.customers_merge_request(
        actor=request.auth, candidate=candidate, survivor_id=data.survivor_id, reason=data.reason
    )
    return {
        "candidate_id": outcome.candidate.pk,
        "status": outcome.candidate.status,
        "approval_request_id": getattr(outcome.approval_request, "pk", None),
        "merge_id": getattr(outcome.merge, "pk", None),
    }


@router.post("/scan", response=ScanOut, summary="Scan the customers in your scope")
def scan(request: HttpRequest) -> Any:
    require_permission(request.auth, PERMISSION)
    return services.duplicate_scan(actor=request.auth)


@router.get("/completeness", response=list[CompletenessRow], summary="Completeness, lowest first")
@paginate(CursorPagination, ordering=("completeness", "pk"))
def completeness_list(request: HttpRequest, filters: Query[CompletenessFilters]) -> Any:
    require_permission(request.auth, PERMISSION)
    return selectors.completeness_list(
        user=request.auth, below=filters.below, branch=filters.branch
    )


@router.get(
    "/completeness/{customer_id}", response=CompletenessOut, summary="One customer's completeness"
)
def completeness_get(request: HttpRequest, customer_id: int) -> Any:
    require_permission(request.auth, PERMISSION)
    customer, result = selectors.completeness_get(user=request.auth, customer_id=customer_id)
    return {
        "customer_id": customer.pk,
        "score": result.score,
        "elements": [
            {"element": name, "points": points, "present": present}
            for name, points, present in result.items
        ],
    }


class _StaleRowOut(StaleRow):
    @staticmethod
    def resolve_reasons(obj: Any) -> list[str]:
        return selectors.stale_reasons(obj)


@router.get("/stale", response=list[_StaleRowOut], summary="Stale records")
@paginate(CursorPagination, ordering=("updated_at", "pk"))
def stale_list(request: HttpRequest, filters: Query[StaleFilters]) -> Any:
    require_permission(request.auth, PERMISSION)
    return selectors.stale_list(user=request.auth, months=filters.months, reason=filters.reason)


@router.get("/summaries", response=list[SummaryOut], summary="Nightly data-quality summaries")
@paginate(CursorPagination, ordering=("-day", "-pk"))
def summary_list(request: HttpRequest) -> Any:
    """Whole-firm figures: empty unless your review scope covers every customer."""
    require_permission(request.auth, PERMISSION)
    return selectors.summary_list(user=request.auth)


@router.get("/overview", response=OverviewOut, summary="Live figures of your scope")
def overview(request: HttpRequest) -> Any:
    require_permission(request.auth, PERMISSION)
    return selectors.overview(user=request.auth)


@router.get("/merges", response=list[MergeOut], summary="Executed merges")
@paginate(CursorPagination, ordering=("-pk",))
def merge_list(request: HttpRequest) -> Any:
    require_permission(request.auth, PERMISSION)
    return selectors.merge_list(user=request.auth)
