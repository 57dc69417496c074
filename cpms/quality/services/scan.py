"""The duplicate scan: every customer not closed (or those in the actor's review scope) through
`matching.find_duplicates`; new pairs stored once, open pairs refreshed, decided pairs left
alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.locks import lock_rows
from cpms.customers.choices import CustomerStatus
from cpms.customers.models import Customer
from cpms.quality import matching
from cpms.quality.choices import CandidateStatus
from cpms.quality.models import DuplicateCandidate
from cpms.quality.services._common import CANDIDATE_OBJECT, REVIEW_PERMISSION


@dataclass
class ScanReport:
    customers: int = 0
    flagged: int = 0  # new pairs
    refreshed: int = 0  # open pairs whose reasons or score changed
    skipped_blocks: int = 0  # blocks above matching.MAX_BLOCK


def duplicate_scan(*, actor: Any = None) -> ScanReport:
    """Find possible duplicates among customers that are not closed (an actor's scan covers the
    customers in their `quality.review` scope; the system's covers all). New pairs are stored
    once; open pairs are refreshed; dismissed and merged pairs are left alone."""
    if actor is not None:
        require_permission(actor, REVIEW_PERMISSION)
    customers = Customer.objects.exclude(status=CustomerStatus.CLOSED)
    if actor is not None:
        customers = scoped(customers, user=actor, permission=REVIEW_PERMISSION)
    rows = list(customers.values_list(*matching.ROW_FIELDS).order_by("pk"))
    found, skipped = matching.find_duplicates(rows)
    report = ScanReport(customers=len(rows), skipped_blocks=skipped)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (row.customer_a_id, row.customer_b_id): row
            for row in lock_rows(
                DuplicateCandidate.objects.only(
                    "pk",
                    "customer_a_id",
                    "customer_b_id",
                    "reasons",
                    "score",
                    "status",
                    "name_similarity",
                )
            ).values()
        }
        new: list[DuplicateCandidate] = []
        for pair in sorted(found):
            match = found[pair]
            current = existing.get(pair)
            if current is None:
                new.append(
                    DuplicateCandidate(
                        customer_a_id=pair[0],
                        customer_b_id=pair[1],
                        reasons=sorted(match.reasons),
                        name_similarity=round(match.similarity * 100),
                        score=match.score(),
                        first_found_at=now,
                    )
                )
            elif _pair_refresh(actor=actor, current=current, match=match):
                report.refreshed += 1
        _pairs_flag(actor=actor, new=new)
        report.flagged = len(new)
    return report


def _pair_refresh(*, actor: Any, current: DuplicateCandidate, match: Any) -> bool:
    """Bring an open pair's reasons and score up to date (audited as flagged again). Returns
    whether anything changed; decided pairs are never touched."""
    reasons = sorted(match.reasons)
    if current.status != CandidateStatus.OPEN or (
        current.reasons == reasons and current.score == match.score()
    ):
        return False
    before = {"reasons": current.reasons, "score": current.score}
    current.reasons = reasons
    current.score = match.score()
    current.name_similarity = round(match.similarity * 100)
    current.save(update_fields=["reasons", "score", "name_similarity"])
    audit_record(
        actor=actor,
        action=AuditAction.DUPLICATE_FLAGGED,
        object_type=CANDIDATE_OBJECT,
        object_id=current.pk,
        before=before,
        after={"reasons": reasons, "score": current.score},
    )
    return True


def _pairs_flag(*, actor: Any, new: list[DuplicateCandidate]) -> None:
    """Store the new pairs in batches, one `quality.duplicate_flagged` entry each."""
    for candidate in DuplicateCandidate.objects.bulk_create(new, batch_size=500):
        if candidate.pk is None:  # backends without RETURNING
            candidate = DuplicateCandidate.objects.get(
                customer_a_id=candidate.customer_a_id, customer_b_id=candidate.customer_b_id
            )
        audit_record(
            actor=actor,
            action=AuditAction.DUPLICATE_FLAGGED,
            object_type=CANDIDATE_OBJECT,
            object_id=candidate.pk,
            after={
                "customer_a": candidate.customer_a_id,
                "customer_b": candidate.customer_b_id,
                "reasons": candidate.reasons,
                "score": candidate.score,
            },
        )
