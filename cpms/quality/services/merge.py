"""Merging two customers found to be duplicates: the request (through maker-checker
`customers.merge`), its executor (registered in `QualityConfig.ready()`) and the merge itself. The
customers' rows are written by the customers app (`customers.services.customer_merge_apply`);
this app writes its own pair, merge record and audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.approvals.services import approval_submit
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound
from cpms.core.locks import lock_rows
from cpms.customers.choices import CustomerStatus
from cpms.customers.models import Customer
from cpms.customers.services import customer_merge_apply
from cpms.quality.choices import CANDIDATE_STATES, CandidateStatus
from cpms.quality.errors import CandidateClosed, MergeRefused, SurvivorInvalid
from cpms.quality.models import CustomerMerge, DuplicateCandidate
from cpms.quality.services._common import (
    CANDIDATE_OBJECT,
    CUSTOMER_OBJECT,
    MERGE_ACTION,
    REVIEW_PERMISSION,
    _clean_reason,
    _locked_candidate,
)
from cpms.quality.services.review import _actionable


@dataclass(frozen=True)
class MergeOutcome:
    candidate: DuplicateCandidate
    approval_request: Any = None  # the pending request, when approval is required
    merge: CustomerMerge | None = None  # the merge, when it ran at once (policy disabled)


def customers_merge_request(
    *, actor: Any, candidate: DuplicateCandidate, survivor_id: int, reason: str
) -> MergeOutcome:
    """Propose merging the pair into `survivor_id` (one of the two). The merge goes through the
    maker-checker (`customers.merge`): it runs when an approver holding `approvals.decide`, not
    the maker, approves. If the policy is disabled it runs now."""
    require_permission(actor, REVIEW_PERMISSION)
    text = _clean_reason(reason)
    with transaction.atomic():
        candidate = _locked_candidate(actor, candidate.pk)
        _actionable(candidate)
        if survivor_id not in (candidate.customer_a_id, candidate.customer_b_id):
            raise SurvivorInvalid(fields={"survivor_id": _("Choose one of the two customers.")})
        merged_id = candidate.other(survivor_id)
        survivor, merged = _customers(survivor_id, merged_id)
        payload = {
            "candidate_id": candidate.pk,
            "survivor_id": survivor.pk,
            "survivor_number": survivor.customer_number,
            "merged_id": merged.pk,
            "merged_number": merged.customer_number,
        }
        submission = approval_submit(
            actor=actor,
            action=MERGE_ACTION,
            payload=payload,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            reason=text,
        )
        if not submission.required:
            merge = _merge(
                actor=actor,
                candidate=candidate,
                survivor=survivor,
                merged=merged,
                reason=text,
                approval_request=None,
                approved_by=None,
            )
            return MergeOutcome(candidate=candidate, merge=merge)
        before = candidate.status
        CANDIDATE_STATES.move(candidate, CandidateStatus.MERGE_REQUESTED)
        candidate.survivor = survivor
        candidate.approval_request = submission.request
        candidate.save(update_fields=["status", "survivor", "approval_request"])
        audit_record(
            actor=actor,
            action=AuditAction.MERGE_REQUESTED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": before},
            after={
                "status": candidate.status,
                "survivor_id": survivor.pk,
                "merged_id": merged.pk,
                "approval_request_id": submission.request.pk,
            },
            reason=text,
        )
    return MergeOutcome(candidate=candidate, approval_request=submission.request)


def _customers(survivor_id: int, merged_id: int) -> tuple[Customer, Customer]:
    """Both customers, locked in primary-key order; refused when either is closed."""
    rows = lock_rows(Customer, [survivor_id, merged_id])
    if len(rows) != 2:
        raise NotFound()
    survivor, merged = rows[survivor_id], rows[merged_id]
    for customer in (survivor, merged):
        if customer.status == CustomerStatus.CLOSED:
            raise MergeRefused(
                _("Customer %(number)s is closed and cannot be merged.")
                % {"number": customer.customer_number}
            )
    return survivor, merged


def customers_merge_describe(payload: dict[str, Any]) -> str:
    return _("Merge customer %(merged)s into %(survivor)s") % {
        "merged": payload.get("merged_number"),
        "survivor": payload.get("survivor_number"),
    }


def customers_merge_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `customers.merge` request, inside the final approval's
    transaction. The merge is made in the maker's name (their permission and scope are checked
    again now); the approver is recorded with it."""
    payload = request.payload
    maker = request.maker
    require_permission(maker, REVIEW_PERMISSION)
    with transaction.atomic():
        try:
            candidate = _locked_candidate(maker, payload["candidate_id"])
        except NotFound:
            raise MergeRefused(_("The customers are no longer in the requester's scope.")) from None
        if candidate.status != CandidateStatus.MERGE_REQUESTED or (
            candidate.approval_request_id != request.pk
        ):
            raise CandidateClosed()
        survivor, merged = _customers(payload["survivor_id"], payload["merged_id"])
        merge = _merge(
            actor=maker,
            candidate=candidate,
            survivor=survivor,
            merged=merged,
            reason=f"{request.reason} (approval #{request.pk})",
            approval_request=request,
            approved_by=actor,
        )
    return {"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk}


def _merge(
    *,
    actor: Any,
    candidate: DuplicateCandidate | None,
    survivor: Customer,
    merged: Customer,
    reason: str,
    approval_request: Any,
    approved_by: Any,
) -> CustomerMerge:
    """Move every link of `merged` to `survivor`, fill the survivor's gaps, close `merged` (all
    three by the customers app's `customer_merge_apply`), then mark the pair merged, dismiss the
    merged customer's other open pairs and record the merge. Runs inside the caller's
    transaction; any failure undoes all of it."""
    now = timezone.now()
    applied = customer_merge_apply(
        actor=actor,
        survivor=survivor,
        merged=merged,
        reason=reason,
        now=now,
        leave_apps=(CustomerMerge._meta.app_label,),  # this app's own bookkeeping stays
    )
    if candidate is not None:
        CANDIDATE_STATES.move(candidate, CandidateStatus.MERGED)
        candidate.survivor = survivor
        candidate.decided_at = now
        candidate.decided_by = approved_by or actor
        candidate.decision_reason = reason
        candidate.save(
            update_fields=["status", "survivor", "decided_at", "decided_by", "decision_reason"]
        )
    _dismiss_superseded(actor=actor, survivor=survivor, merged=merged, keep=candidate, now=now)
    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged=merged,
        candidate=candidate,
        approval_request=approval_request,
        moved=applied.moved,
        resolutions=applied.resolutions,
        filled=applied.filled,
        requested_by=actor,
        merged_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMERS_MERGED,
        object_type=CUSTOMER_OBJECT,
        object_id=survivor.pk,
        after={
            "merge_id": merge.pk,
            "survivor_id": survivor.pk,
            "merged_id": merged.pk,
            "candidate_id": candidate.pk if candidate else None,
            "approval_request_id": approval_request.pk if approval_request else None,
            "approved_by": approved_by.pk if approved_by else None,
            "moved": applied.moved,
            "resolutions": [
                {key: item[key] for key in ("relation", "rule", "row")}
                for item in applied.resolutions
            ],
            "filled": applied.filled,
        },
        reason=reason,
    )
    return merge


def _dismiss_superseded(
    *, actor: Any, survivor: Customer, merged: Customer, keep: Any, now: Any
) -> None:
    """Other open pairs of the merged (now closed) customer no longer mean anything: they are
    dismissed; the next scan compares the survivor afresh."""
    others = lock_rows(
        DuplicateCandidate.objects.filter(
            Q(customer_a=merged) | Q(customer_b=merged), status=CandidateStatus.OPEN
        ).exclude(pk=getattr(keep, "pk", None))
    ).values()
    text = _("Customer %(merged)s was merged into %(survivor)s.") % {
        "merged": merged.customer_number,
        "survivor": survivor.customer_number,
    }
    for candidate in others:
        CANDIDATE_STATES.move(candidate, CandidateStatus.DISMISSED)
        candidate.decided_at = now
        candidate.decided_by = actor
        candidate.decision_reason = text
        candidate.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.DUPLICATE_DISMISSED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": CandidateStatus.OPEN},
            after={"status": CandidateStatus.DISMISSED},
            reason=text,
        )
