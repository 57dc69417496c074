"""Background entry points of the document store."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.core.context import acting
from cpms.documents import services


@db_periodic_task(crontab(hour="2", minute="30"))
def document_verify() -> None:
    """Daily: re-hash every stored version; failures and a summary go to the audit trail."""
    with acting(channel="job", user_agent="documents.verify"):
        services.document_verify_all(actor=None)
