"""Import jobs: an uploaded file stored and queued (`import_job_submit`), then run by the
worker as the member of staff who started it (`import_job_run`)."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import CpmsError
from cpms.dataio.choices import JOB_STATES, JobStatus
from cpms.dataio.messages import _
from cpms.dataio.models import ImportJob
from cpms.dataio.readers import open_table
from cpms.dataio.services._common import (
    DOMAIN_PERMISSIONS,
    IMPORT_OBJECT_TYPE,
    IMPORT_PERMISSION,
    ImportReport,
    import_audit_rejected,
    require_dataset,
    short,
)
from cpms.dataio.services.importing import data_import

logger = logging.getLogger("cpms.dataio.services")


def import_job_submit(
    *, actor: Any, dataset: str, upload: Any, dry_run: bool = False, language: str = "en"
) -> ImportJob:
    """Store an uploaded file (default storage) and queue its import as a job."""
    require_permission(actor, IMPORT_PERMISSION)
    require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][0])
    name = str(getattr(upload, "name", "") or "upload")[:255]
    with transaction.atomic():
        job = ImportJob(
            created_by=actor,
            dataset=dataset,
            original_name=name,
            dry_run=dry_run,
            language=language,
            size=getattr(upload, "size", 0) or 0,
        )
        job.file.save(f"{secrets.token_hex(8)}.upload", upload, save=False)
        job.save()
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT_SUBMITTED,
            object_type=IMPORT_OBJECT_TYPE,
            object_id=job.pk,
            after={"dataset": dataset, "file_name": name, "dry_run": dry_run, "size": job.size},
        )

        def enqueue() -> None:
            from cpms.dataio.tasks import import_job_run_task  # lazy: tasks imports services

            import_job_run_task(job.pk)

        transaction.on_commit(enqueue)
    return job


def _job_row_count(job: ImportJob) -> int:
    """How many data rows the stored file has (0 when it cannot be read: the checking pass
    then says why). One quick streaming read, so the progress bar knows its end."""
    try:
        with job.file.open("rb") as stream, translation.override(job.language):
            table = open_table(stream, job.original_name)
            return sum(1 for _row in table.rows)
    except Exception:
        return 0


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job as the member of staff who started it: a validating pass with
    progress, then (if clean and not a dry run) the applying pass, each reading the stored
    file afresh. A job always ends accepted, refused or failed: an unexpected error is logged
    and the job fails with its reason shown (and, unless a dry run, `data.import_rejected`)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return job
    JOB_STATES.move_rows(
        ImportJob.objects.filter(pk=job.pk),
        JobStatus.RUNNING,
        started_at=timezone.now(),
        rows_total=_job_row_count(job),
    )
    report, failure = _job_passes(job)
    _job_finish(job, report, failure)
    job.refresh_from_db()
    return job


def _job_pass(job: ImportJob, *, dry_run: bool, with_progress: bool) -> ImportReport:
    """One reading of the stored file through `data_import`, with progress on the job row."""

    def progress(rows: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_read=rows)

    with job.file.open("rb") as stream:
        return data_import(
            actor=job.created_by,
            dataset=job.dataset,
            stream=stream,
            filename=job.original_name,
            dry_run=dry_run,
            language=job.language,
            progress=progress if with_progress else None,
            job=job,
        )


def _job_passes(job: ImportJob) -> tuple[ImportReport, Any]:
    """The checking pass, then (clean, not a dry run) the writing pass. Returns the last
    report, or the reason the job failed (a refusal's message or an unexpected error's)."""
    actor = job.created_by
    try:
        report = _job_pass(job, dry_run=True, with_progress=True)
        if report.accepted and not job.dry_run:
            # The checking pass is over: the page says so while the writing pass runs (in
            # one transaction, so its own progress cannot be seen from outside).
            ImportJob.objects.filter(pk=job.pk).update(rows_read=report.rows)
            report = _job_pass(job, dry_run=False, with_progress=False)
        elif not report.accepted and not job.dry_run:
            import_audit_rejected(actor, report, job)
    except CpmsError as exc:
        failure: Any = exc.message
    except Exception as exc:  # a job must never stay "running": record why it stopped
        logger.exception("import job %s failed", job.pk)
        with translation.override(job.language):
            failure = _(
                "The import stopped because of an unexpected error (%(error)s); nothing was "
                "written. Try again, or give this message to your administrator."
            ) % {"error": short(f"{type(exc).__name__}: {exc}", 300)}
    else:
        return report, ""
    report = ImportReport(dataset=job.dataset, filename=job.original_name)
    report.add_error(None, "", failure)
    report.set_message(failure)
    return report, failure


def _job_finish(job: ImportJob, report: ImportReport, failure: Any) -> None:
    """Store the job's outcome (status, counts, errors, message) and, for a failed job that
    would have written, audit the refusal."""
    if failure:
        status = JobStatus.FAILED
    else:
        status = JobStatus.ACCEPTED if report.accepted else JobStatus.REFUSED
    written = report.created + report.updated if status == JobStatus.ACCEPTED else 0
    with transaction.atomic():
        JOB_STATES.move_rows(
            ImportJob.objects.filter(pk=job.pk),
            status,
            sha256=report.sha256,
            rows_read=report.rows,
            rows_written=0 if job.dry_run else written,
            created_count=report.created,
            updated_count=report.updated,
            unchanged_count=report.unchanged,
            error_count=report.error_count,
            errors=report.stored_errors(),
            message=report.message,
            summary=report.summary,
            finished_at=timezone.now(),
            **({} if failure else {"rows_total": report.rows}),
        )
        if failure and not job.dry_run:
            import_audit_rejected(job.created_by, report, job)
