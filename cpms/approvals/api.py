"""API of the maker-checker, mounted at /api/v1/approvals/: the inbox, decisions, policies."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from cpms.approvals import selectors, services
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.schemas import ApprovalRequestOut, DecisionIn, PolicyOut, PolicyPatch
from cpms.core.authz import require_permission
from cpms.core.errors import PermissionDenied
from cpms.core.pagination import CursorPagination

router = Router(tags=["approvals"])


class RequestFilters(Schema):
    status: ApprovalStatus | None = None
    mine: bool = False
    awaiting_me: bool = False


def _require_inbox(user: Any) -> None:
    if not selectors.can_use_approvals(user):
        raise PermissionDenied()


@router.get("/requests", response=list[ApprovalRequestOut], summary="List approval requests")
@paginate(CursorPagination, ordering=("-pk",))
def request_list(request: HttpRequest, filters: Query[RequestFilters]) -> Any:
    _require_inbox(request.auth)
    return selectors.approval_request_list(
        user=request.auth,
        status=filters.status,
        mine=filters.mine,
        awaiting_me=filters.awaiting_me,
    )


@router.get("/requests/{request_id}", response=ApprovalRequestOut, summary="One request")
def request_get(request: HttpRequest, request_id: int) -> Any:
    _require_inbox(request.auth)
    return selectors.approval_request_get_for_user(user=request.auth, pk=request_id)


def _reload(request: HttpRequest, request_id: int) -> Any:
    return selectors.approval_request_get_for_user(user=request.auth, pk=request_id)


@router.post(
    "/requests/{request_id}/approve", response=ApprovalRequestOut, summary="Approve a request"
)
def request_approve(request: HttpRequest, request_id: int, data: DecisionIn) -> Any:
    _require_inbox(request.auth)
    _reload(request, request_id)
    services.approval_approve(actor=request.auth, request_id=request_id, reason=data.reason)
    return _reload(request, request_id)


@router.post(
    "/requests/{request_id}/reject", response=ApprovalRequestOut, summary="Reject a request"
)
def request_reject(request: HttpRequest, request_id: int, data: DecisionIn) -> Any:
    _require_inbox(request.auth)
    _reload(request, request_id)
    services.approval_reject(actor=request.auth, request_id=request_id, reason=data.reason)
    return _reload(request, request_id)


@router.post(
    "/requests/{request_id}/cancel",
    response=ApprovalRequestOut,
    summary="Cancel your own request",
)
def request_cancel(request: HttpRequest, request_id: int, data: DecisionIn) -> Any:
    _require_inbox(request.auth)
    _reload(request, request_id)
    services.approval_cancel(actor=request.auth, request_id=request_id, reason=data.reason)
    return _reload(request, request_id)


@router.get("/policies", response=list[PolicyOut], summary="List approval policies")
@paginate(CursorPagination, ordering=("action", "pk"))
def policy_list(request: HttpRequest) -> Any:
    _require_inbox(request.auth)
    return selectors.approval_policy_list(user=request.auth)


@router.patch("/policies/{action}", response=PolicyOut, summary="Change an approval policy")
def policy_update(request: HttpRequest, action: str, data: PolicyPatch) -> Any:
    require_permission(request.auth, "approvals.configure")
    return services.approval_policy_update(
        actor=request.auth, action=action, changes=data.changes(), reason=data.reason
    )
