"""Reads of the maker-checker, acting user first.

Who sees a request: its maker, holders of the permission it needs from approvers, and holders
of `approvals.configure`. Anyone else gets "not found", exactly like a missing id."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cpms.approvals import registry
from cpms.approvals.choices import ApprovalAction, ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.core.authz import user_has_permission
from cpms.core.errors import NotFound
from cpms.core.money import format_minor
from cpms.core.permissions import BY_CODE, PERMISSIONS

APPROVALS_PERMISSIONS = ("approvals.request", "approvals.decide", "approvals.configure")


def can_use_approvals(user: Any) -> bool:
    """Whether the inbox is open to `user` at all."""
    return any(user_has_permission(user, code) for code in APPROVALS_PERMISSIONS)


def can_configure(user: Any) -> bool:
    return user_has_permission(user, "approvals.configure")


def _held_codes(user: Any) -> list[str]:
    return [p.code for p in PERMISSIONS if user_has_permission(user, p.code)]


def _base() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.select_related("maker").prefetch_related("decisions__approver")


def approval_request_visible(*, user: Any) -> QuerySet[ApprovalRequest]:
    if user is None or not getattr(user, "is_authenticated", False):
        return ApprovalRequest.objects.none()
    if can_configure(user):
        return _base()
    return _base().filter(Q(maker=user) | Q(approver_permission__in=_held_codes(user)))


def approval_request_list(
    *,
    user: Any,
    status: str | None = None,
    mine: bool = False,
    awaiting_me: bool = False,
) -> QuerySet[ApprovalRequest]:
    """Requests `user` may see; `mine`: submitted by them; `awaiting_me`: pending, not expired,
    not theirs, needing a permission they hold, and not yet decided by them."""
    requests = approval_request_visible(user=user)
    if status:
        requests = requests.filter(status=status)
    if mine:
        requests = requests.filter(maker=user)
    if awaiting_me:
        decided = ApprovalDecision.objects.filter(request=OuterRef("pk"), approver=user)
        requests = (
            requests.filter(
                status=ApprovalStatus.PENDING,
                expires_at__gt=timezone.now(),
                approver_permission__in=_held_codes(user),
            )
            .exclude(maker=user)
            .exclude(maker_token__created_by=user)
            .exclude(Exists(decided))
        )
    return requests


def approval_request_get_for_user(*, user: Any, pk: Any) -> ApprovalRequest:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    request = approval_request_visible(user=user).filter(pk=key).first()
    if request is None:
        raise NotFound()
    return request


def approval_can_decide(*, user: Any, request: ApprovalRequest) -> bool:
    """Whether to offer `user` the approve/reject buttons (the service re-checks everything)."""
    return (
        request.status == ApprovalStatus.PENDING
        and not request.is_overdue()
        and request.maker_id != user.pk
        and not getattr(user, "is_service_account", False)
        and not (request.maker_token_id and request.maker_token.created_by_id == user.pk)
        and request.approver_permission in BY_CODE
        and user_has_permission(user, request.approver_permission)
        and not any(decision.approver_id == user.pk for decision in request.decisions.all())
    )


def approval_count(request: ApprovalRequest) -> int:
    return sum(1 for decision in request.decisions.all() if decision.decision == "approved")


def action_label(action: str) -> str:
    labels = dict(ApprovalAction.choices)
    return str(labels.get(action, action))


def approval_summary(request: ApprovalRequest) -> str:
    return request.summary or registry.describe(request.action, request.payload)


def approval_policy_list(*, user: Any) -> QuerySet[ApprovalPolicy]:
    return ApprovalPolicy.objects.order_by("action")


def approval_policy_get(*, user: Any, action: str) -> ApprovalPolicy:
    policy = approval_policy_list(user=user).filter(action=action).first()
    if policy is None:
        raise NotFound()
    return policy


def awaiting_decision_count(user: Any) -> int:
    """Pending requests this user may decide (not their own, not yet decided by them, not
    expired): the badge on the console's Approvals menu entry."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return approval_request_list(user=user, awaiting_me=True).count()


def approval_context(*, user: Any, request: ApprovalRequest) -> Any:
    """What a checker reads about `request` (see `cpms.approvals.context`): the operation's
    context for `user`, or its describe() text. Balances before/after are shown only while the
    request is pending (afterwards "now" is no longer "before")."""
    from dataclasses import replace

    built = registry.context(request.action, request.payload, viewer=user)
    if request.status != ApprovalStatus.PENDING and built.balances:
        built = replace(built, balances=())
    return built


def approval_amount(request: ApprovalRequest) -> str:
    """The request's amount as people read it ("800,000.00 CNY"), or ""."""

    if request.amount_minor is None or not request.currency:
        return ""
    return format_minor(request.amount_minor, request.currency)


def can_see_payload_digest(user: Any) -> bool:
    """Auditors (and configurers) may see the digest of the stored payload, never the payload."""
    return user_has_permission(user, "audit.view") or can_configure(user)


def approval_payload_digest(request: ApprovalRequest) -> str:
    """The digest recorded with the request's `approval.requested` audit entry ("" if none)."""

    entry = (
        AuditEntry.objects.filter(
            object_type="approval_request", object_id=str(request.pk), action="approval.requested"
        )
        .only("after")
        .first()
    )
    digest = (entry.after or {}).get("payload") if entry is not None else None
    return str(digest) if isinstance(digest, str) else ""
