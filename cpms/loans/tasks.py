"""Background entry points of loan servicing: the daily interest accrual."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.loans import services


@db_periodic_task(crontab(hour="0", minute="30"))
def accrue_loan_interest() -> dict[str, int]:
    """Daily at 00:30: accrue every active loan's interest through today (idempotent)."""
    with acting(channel="job", user_agent="loans.accrue_loan_interest"):
        return services.loans_accrue(actor=None)
