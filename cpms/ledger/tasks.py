"""Background entry points of the ledger: expire lapsed holds, check the invariants nightly."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.ledger import services


@db_periodic_task(crontab(minute="*/10"))
def expire_holds() -> int:
    """Every 10 minutes: void holds past their expiry (not those owned by an approval)."""
    with acting(channel="job", user_agent="ledger.expire_holds"):
        return services.holds_expire(actor=None)


@db_periodic_task(crontab(hour="2", minute="30"))
def nightly_check() -> dict:
    """Daily at 02:30: verify the ledger's invariants; problems are logged and audited."""
    with acting(channel="job", user_agent="ledger.nightly_check"):
        result = services.ledger_check_record(actor=None)
    return {"ok": result.ok, "problems": len(result.problems)}
