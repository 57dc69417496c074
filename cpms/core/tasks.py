"""Background entry points of the core app."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core import services


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    """Runs every minute when the worker's scheduler is alive; the dashboard shows the last beat."""
    services.heartbeat_record()
