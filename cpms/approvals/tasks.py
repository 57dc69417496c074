"""Background entry points of the maker-checker."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.approvals import services
from cpms.core.context import acting


@db_periodic_task(crontab(minute="*/5"))
def expire_overdue_requests() -> int:
    """Every five minutes: pending requests past their expiry become expired (audited)."""
    with acting(channel="job", user_agent="approvals.expire_overdue_requests"):
        return services.approval_expire_overdue(actor=None)
