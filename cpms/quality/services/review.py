"""Reviewing a possible duplicate: which pairs can still be decided, and dismissing one."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from cpms.access.checks import require_permission
from cpms.approvals.choices import ApprovalStatus
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.quality.choices import ACTIONABLE, CANDIDATE_STATES, CandidateStatus
from cpms.quality.errors import CandidateClosed, MergePending
from cpms.quality.models import DuplicateCandidate
from cpms.quality.services._common import (
    CANDIDATE_OBJECT,
    REVIEW_PERMISSION,
    _clean_reason,
    _locked_candidate,
)


def _still_pending(candidate: DuplicateCandidate) -> bool:
    request = candidate.approval_request
    return (
        candidate.status == CandidateStatus.MERGE_REQUESTED
        and request is not None
        and request.status == ApprovalStatus.PENDING
    )


def _actionable(candidate: DuplicateCandidate) -> None:
    """Open pairs can be decided; so can merge-requested ones whose request was rejected,
    cancelled or expired. A pending merge blocks everything else."""
    if candidate.status not in ACTIONABLE:
        raise CandidateClosed()
    if _still_pending(candidate):
        raise MergePending()


def candidate_dismiss(
    *, actor: Any, candidate: DuplicateCandidate, reason: str
) -> DuplicateCandidate:
    """Not a duplicate: the pair is closed for good (re-scans do not reopen it)."""
    require_permission(actor, REVIEW_PERMISSION)
    text = _clean_reason(reason)
    with transaction.atomic():
        candidate = _locked_candidate(actor, candidate.pk)
        _actionable(candidate)
        before = candidate.status
        CANDIDATE_STATES.move(candidate, CandidateStatus.DISMISSED)
        candidate.decided_at = timezone.now()
        candidate.decided_by = actor
        candidate.decision_reason = text
        candidate.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.DUPLICATE_DISMISSED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            before={"status": before},
            after={"status": candidate.status},
            reason=text,
        )
    return candidate
