"""Background entry points of loyalty points."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.points import services


@db_periodic_task(crontab(hour="1", minute="10"))
def expire_points() -> int:
    """Daily at 01:10: lots whose expiry date has come give their remainder to breakage."""
    with acting(channel="job", user_agent="points.expire_points"):
        return services.points_expire(actor=None)
