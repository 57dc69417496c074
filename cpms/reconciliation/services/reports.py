"""The daily reconciliation report, recorded (figures built by `selectors.report_build`)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.reconciliation import selectors
from cpms.reconciliation.models import ReconciliationReport
from cpms.reconciliation.services._shared import REPORT_OBJECT, _require, _user


def report_write(*, actor: Any, on: datetime.date | None = None) -> ReconciliationReport:
    """Record the daily reconciliation report for `on` (default today); writing the same day
    again replaces its figures (audited with before and after)."""
    _require(actor, "ledger.view")
    on = on or timezone.localdate()
    with transaction.atomic():
        data = selectors.report_build(None, on)
        existing = ReconciliationReport.objects.select_for_update().filter(date=on).first()
        before = existing.data if existing is not None else None
        if existing is None:
            report = ReconciliationReport.objects.create(
                date=on, data=data, written_by=_user(actor)
            )
        else:
            report = existing
            report.data = data
            report.written_at = timezone.now()
            report.written_by = _user(actor)
            report.save(update_fields=["data", "written_at", "written_by"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_REPORT_WRITTEN,
            object_type=REPORT_OBJECT,
            object_id=report.pk,
            before={"data": before} if before is not None else None,
            after={"data": data},
        )
        return report
