"""Background entry points of the audit trail."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.audit import services


@db_periodic_task(crontab(minute="*"))
def audit_seal() -> None:
    """Every minute: seal settled entries into the tree; sign a checkpoint when one is due."""
    services.audit_seal(actor=None)
