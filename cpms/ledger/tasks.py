"""Background entry points of the ledger: expire lapsed holds, check the invariants nightly."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.context import acting
from cpms.ledger import services
from cpms.ledger.checks import CheckResult, ledger_check

logger = logging.getLogger("cpms.ledger")
# an audit entry keeps the first problems; the count says how many there were
AUDITED_PROBLEMS = 50


def check_recorded(*, actor: Any = None) -> CheckResult:
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


@db_periodic_task(crontab(minute="*/10"))
def expire_holds() -> int:
    """Every 10 minutes: void holds past their expiry (not those owned by an approval)."""
    with acting(channel="job", user_agent="ledger.expire_holds"):
        return services.holds_expire(actor=None)


@db_periodic_task(crontab(hour="2", minute="30"))
def nightly_check() -> dict:
    """Daily at 02:30: verify the ledger's invariants; problems are logged and audited."""
    with acting(channel="job", user_agent="ledger.nightly_check"):
        result = check_recorded(actor=None)
    return {"ok": result.ok, "problems": len(result.problems)}
