"""Background entry points of bulk import."""

from huey.contrib.djhuey import db_task

from cpms.dataio import services


@db_task()
def import_job_run_task(job_id: int) -> None:
    """Run a queued import job (validating pass with progress, then the applying pass)."""
    services.import_job_run(job_id=job_id)
