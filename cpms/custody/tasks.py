"""Background entry points of the custody lifecycle."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.custody import services


@db_periodic_task(crontab(minute="*/15"))
def notify_pending_incidents() -> dict:
    """Every 15 minutes: notify customers of open incidents not yet notified, flagging those
    already past their deadline (CPMS_INCIDENT_NOTIFY_HOURS)."""
    with acting(channel="job", user_agent="custody.notify_pending_incidents"):
        return services.incident_notify_pending(actor=None)


@db_periodic_task(crontab(hour="7", minute="0"))
def flag_overdue_checkouts() -> list:
    """Daily at 07:00: flag check-outs past their due date and alert relationship managers."""
    with acting(channel="job", user_agent="custody.flag_overdue_checkouts"):
        return services.checkout_overdue_flag(actor=None)
