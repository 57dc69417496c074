"""The nightly summary: customers not closed, average completeness, open possible duplicates and
stale records, for the firm and per branch."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import has_scope_all, require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import PermissionDenied
from cpms.customers.choices import CustomerStatus
from cpms.customers.models import Customer
from cpms.quality import selectors
from cpms.quality.choices import CandidateStatus
from cpms.quality.models import DuplicateCandidate, QualitySummary
from cpms.quality.services._common import REVIEW_PERMISSION, SUMMARY_OBJECT
from cpms.quality.services.scan import duplicate_scan


def _average(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def quality_summary_write(*, actor: Any = None, day: datetime.date | None = None) -> QualitySummary:
    """Write (or rewrite) the summary of `day`: customers not closed, average completeness,
    open possible duplicates and stale records, for the firm and per branch. A person needs
    `quality.review` over every customer (the figures cover the whole firm)."""
    if actor is not None:
        require_permission(actor, REVIEW_PERMISSION)
        if not has_scope_all(actor, REVIEW_PERMISSION):
            raise PermissionDenied(
                _("The summary covers every customer; your review scope is narrower.")
            )
    day = day or timezone.localdate()
    customers = Customer.objects.exclude(status=CustomerStatus.CLOSED).annotate(
        completeness=selectors.completeness_expression(day)
    )
    stale = selectors.stale_condition(today=day)
    branches = {
        row["branch__code"]: row
        for row in customers.values("branch__code")
        .annotate(
            customers=Count("pk"), average=Avg("completeness"), stale=Count("pk", filter=stale)
        )
        .order_by("branch__code")
    }
    open_pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    per_branch = {}
    for code, row in branches.items():
        per_branch[code] = {
            "customers": row["customers"],
            "average_completeness": str(_average(row["average"])),
            "open_duplicates": open_pairs.filter(
                Q(customer_a__branch__code=code) | Q(customer_b__branch__code=code)
            ).count(),
            "stale": row["stale"],
        }
    totals = customers.aggregate(
        customers=Count("pk"), average=Avg("completeness"), stale=Count("pk", filter=stale)
    )
    values = {
        "customers": totals["customers"],
        "average_completeness": _average(totals["average"]),
        "open_duplicates": open_pairs.count(),
        "stale": totals["stale"],
        "per_branch": per_branch,
    }
    with transaction.atomic():
        summary = QualitySummary.objects.select_for_update().filter(day=day).first()
        before = None
        if summary is None:
            summary = QualitySummary(day=day, **values)
        else:
            before = _summary_snapshot(summary)
            for name, value in values.items():
                setattr(summary, name, value)
        summary.written_at = timezone.now()
        summary.save()
        audit_record(
            actor=actor,
            action=AuditAction.QUALITY_SUMMARY_WRITTEN,
            object_type=SUMMARY_OBJECT,
            object_id=day.isoformat(),
            before=before,
            after=_summary_snapshot(summary),
        )
    return summary


def _summary_snapshot(summary: QualitySummary) -> dict[str, Any]:
    return {
        "customers": summary.customers,
        "average_completeness": str(summary.average_completeness),
        "open_duplicates": summary.open_duplicates,
        "stale": summary.stale,
        "branches": len(summary.per_branch),
    }


def quality_nightly(*, actor: Any = None) -> QualitySummary:
    """What the nightly job does: scan for duplicates, then write the day's summary."""
    duplicate_scan(actor=actor)
    return quality_summary_write(actor=actor)
