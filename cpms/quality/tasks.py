"""Background entry points of the data-quality app."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.quality import services


@db_periodic_task(crontab(hour="2", minute="30"))
def nightly_quality() -> int:
    """Every night at 02:30: scan for possible duplicates, then write the day's summary."""
    with acting(channel="job", user_agent="quality.nightly_quality"):
        return services.quality_nightly(actor=None).pk
