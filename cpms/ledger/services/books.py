"""The books as a whole: closing a period (nothing can be dated in it afterwards) and the
recorded run of the invariant checks."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import engine
from cpms.ledger.checks import CheckResult, ledger_check
from cpms.ledger.models import CLOSE_PERMISSION, PeriodClose

logger = logging.getLogger("cpms.ledger")
# a LEDGER_CHECKED entry keeps the first problems; the count says how many there were
AUDITED_PROBLEMS = 50


def period_close(*, actor: Any, through: datetime.date, reason: str = "") -> PeriodClose:
    """Close the books through `through` (on or before today, after the last close). Waits for
    postings in flight (PostgreSQL advisory lock); afterwards nothing can be dated in it."""
    require_permission(actor, CLOSE_PERMISSION)
    if not isinstance(through, datetime.date):
        raise ValidationFailed(fields={"through": _("Give a date.")})
    if through >= engine.today():
        raise ValidationFailed(fields={"through": _("Only a period that has ended can be closed.")})
    with transaction.atomic():
        last = engine.closed_through(exclusive=True)
        if last is not None and through <= last:
            raise ValidationFailed(
                fields={
                    "through": _("The books are closed through %(date)s already.")
                    % {"date": last.isoformat()}
                }
            )
        close = PeriodClose.objects.create(
            through=through, reason=(reason or "")[:500], closed_by=actor
        )
        audit_record(
            actor=actor,
            action=AuditAction.PERIOD_CLOSED,
            object_type="ledger.period",
            object_id=close.pk,
            before={"closed_through": last.isoformat() if last else None},
            after={"closed_through": through.isoformat()},
            reason=reason or "",
        )
    return close


def ledger_check_record(*, actor: Any = None) -> CheckResult:
    """Run `ledger_check` and record LEDGER_CHECKED with its outcome (used by `cpms ledger
    check` and the nightly job). Problems are also logged as errors."""
    result = ledger_check()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.LEDGER_CHECKED,
            object_type="ledger",
            object_id="",
            after={
                "ok": result.ok,
                "accounts": result.accounts,
                "transfers": result.transfers,
                "problem_count": len(result.problems),
                "problems": result.problems[:AUDITED_PROBLEMS],
            },
        )
    for problem in result.problems:
        logger.error("ledger check: %s", problem)
    return result
