"""KYC verification with four eyes: a maker asks (`kyc_verify_request`), a second person approves
through the maker-checker (`customers.kyc_verify`, executor `kyc_verify_execute` registered in
`CustomersConfig.ready()`). While the policy is disabled the maker's request marks the customer
verified at once."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.errors import UnknownAction
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_required, approval_submit
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.choices import CustomerStatus, KycStatus, RiskRating
from cpms.customers.errors import KycRequestPending, OutOfScope, StatusTransitionRefused
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.customers.services._common import KYC_VERIFY_ACTION, OBJECT_TYPE, _locked, _plain
from cpms.customers.services.derived import kyc_next_review


def kyc_verification_needs_approval() -> bool:
    """Whether marking KYC verified goes through maker-checker (`customers.kyc_verify` policy,
    enabled by default). A missing policy fails closed."""
    try:
        return approval_required(KYC_VERIFY_ACTION)
    except UnknownAction:
        return True


def kyc_pending_request(customer: Customer) -> Any:
    """The pending (not expired) KYC verification request of a customer, or None."""
    return (
        ApprovalRequest.objects.filter(
            action=KYC_VERIFY_ACTION,
            object_type=OBJECT_TYPE,
            object_id=str(customer.pk),
            status=ApprovalStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("maker")
        .order_by("-pk")
        .first()
    )


def _kyc_mark_verified(
    *,
    actor: Any,
    customer: Customer,
    reason: str,
    reviewed_on: datetime.date | None = None,
    approved_by: Any = None,
    request: Any = None,
) -> Customer:
    """Set KYC verified as reviewed on `reviewed_on` (default today; next review by risk
    rating), audited (inside the caller's transaction, the row locked)."""
    today = reviewed_on or timezone.localdate()
    before = {
        "kyc_status": customer.kyc_status,
        "kyc_reviewed_at": _plain(customer.kyc_reviewed_at),
        "kyc_next_review_at": _plain(customer.kyc_next_review_at),
    }
    customer.kyc_status = KycStatus.VERIFIED
    customer.kyc_reviewed_at = today
    customer.kyc_next_review_at = kyc_next_review(today, customer.risk_rating)
    customer.updated_at = timezone.now()
    customer.save(
        update_fields=["kyc_status", "kyc_reviewed_at", "kyc_next_review_at", "updated_at"]
    )
    after: dict[str, Any] = {
        "kyc_status": customer.kyc_status,
        "kyc_reviewed_at": _plain(customer.kyc_reviewed_at),
        "kyc_next_review_at": _plain(customer.kyc_next_review_at),
    }
    if request is not None:
        after["approval_request_id"] = request.pk
    if approved_by is not None:
        after["approved_by_id"] = approved_by.pk
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_UPDATED,
        object_type=OBJECT_TYPE,
        object_id=customer.pk,
        before=before,
        after=after,
        reason=reason,
    )
    return customer


def kyc_verify_request(
    *,
    actor: Any,
    customer: Customer,
    reason: str = "",
    reviewed_on: datetime.date | None = None,
) -> Any:
    """Ask a second person to confirm the customer's KYC as verified (the documents reviewed
    on `reviewed_on`, default today). Returns the pending ApprovalRequest; while the
    `customers.kyc_verify` policy is disabled the customer is marked verified at once and
    returned instead. One pending request per customer."""
    require_permission(actor, MANAGE_PERMISSION)
    text = (reason or "").strip()[:500] or _("KYC documents checked.")
    if reviewed_on is not None and reviewed_on > timezone.localdate():
        raise ValidationFailed(fields={"reviewed_on": _("The review date is in the future.")})
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if customer.status == CustomerStatus.CLOSED:
            raise StatusTransitionRefused(_("The KYC of a closed customer cannot be verified."))
        if kyc_pending_request(customer) is not None:
            raise KycRequestPending()
        submission = approval_submit(
            actor=actor,
            action=KYC_VERIFY_ACTION,
            payload={
                "customer_id": customer.pk,
                "customer_number": customer.customer_number,
                "legal_name": customer.legal_name,
                "kyc_status": customer.kyc_status,
                "risk_rating": customer.risk_rating,
                "branch": str(customer.branch.name) if customer.branch_id else "",
                "reviewed_on": (reviewed_on or timezone.localdate()).isoformat(),
            },
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            reason=text,
        )
        if submission.required:
            return submission.request
        return _kyc_mark_verified(
            actor=actor, customer=customer, reason=text, reviewed_on=reviewed_on
        )


def kyc_verify_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `customers.kyc_verify` request (inside the final approval's
    transaction): the maker's permission and scope are checked again now; the approver is
    recorded with the change."""
    maker = request.maker
    require_permission(maker, MANAGE_PERMISSION)
    try:
        customer = _locked(maker, request.payload["customer_id"])
    except NotFound:
        raise OutOfScope(_("The customer is no longer in the requester's scope.")) from None
    if customer.status == CustomerStatus.CLOSED:
        raise StatusTransitionRefused(_("The KYC of a closed customer cannot be verified."))
    try:
        reviewed_on = datetime.date.fromisoformat(str(request.payload.get("reviewed_on")))
    except ValueError:
        reviewed_on = None
    _kyc_mark_verified(
        actor=maker,
        customer=customer,
        reason=f"{request.reason} (#{request.pk})",
        reviewed_on=reviewed_on,
        approved_by=actor,
        request=request,
    )
    return {"customer_id": customer.pk, "kyc_status": customer.kyc_status}


def kyc_verify_describe(payload: Mapping[str, Any]) -> str:
    """The approval inbox's line for a KYC verification request."""
    text = _("Verify the KYC of %(name)s (%(number)s)") % {
        "name": payload.get("legal_name") or "—",
        "number": payload.get("customer_number") or "—",
    }
    status = payload.get("kyc_status")
    if status in KycStatus.values:
        text += " · " + _("now: %(status)s") % {"status": KycStatus(status).label}
    risk = payload.get("risk_rating")
    if risk in RiskRating.values:
        text += " · " + _("risk: %(rating)s") % {"rating": RiskRating(risk).label}
    if payload.get("branch"):
        text += f" · {payload['branch']}"
    return text
