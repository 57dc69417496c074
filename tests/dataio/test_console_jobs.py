"""The console import flow end to end (issue 10, item 10): upload through the console view,
the job runs inline (CPMS_JOBS_IMMEDIATE=1), and ends accepted, refused or failed, never
"running"; a failed job shows its reason on the job page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.models import Customer
from cpms.dataio.choices import JobStatus
from cpms.dataio.models import ImportJob
from cpms.dataio.samples import customer_rows
from tests.dataio.conftest import ENGLISH, csv_bytes, rows_from, xlsx_bytes


@pytest.fixture(autouse=True)
def _media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client


def upload_through_console(client: Client, name: str, content: bytes, capture, **extra):
    with capture(execute=True):
        response = client.post(
            reverse("dataio:import"),
            {"dataset": "customers", "file": SimpleUploadedFile(name, content), **extra},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dataio:job", kwargs={"pk": job.pk})
    return job


@pytest.mark.parametrize("count", [3, 600])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_console_import__csv_and_xlsx_jobs_finish_and_apply(
    rm1_client, django_capture_on_commit_callbacks, count, file_format
):
    rows = rows_from(customer_rows(count))
    content = (csv_bytes if file_format == "csv" else xlsx_bytes)(ENGLISH, rows)

    job = upload_through_console(
        rm1_client, f"c.{file_format}", content, django_capture_on_commit_callbacks
    )

    assert job.status == JobStatus.ACCEPTED, job.message
    assert (job.rows_read, job.created_count, job.error_count) == (count, count, 0)
    assert job.finished_at is not None
    assert Customer.objects.count() == count
    page = rm1_client.get(reverse("dataio:job", kwargs={"pk": job.pk}))
    assert page.status_code == 200
    assert b"hx-trigger" not in page.content


def test_console_import__dry_run_then_nothing_written(
    rm1_client, django_capture_on_commit_callbacks
):
    job = upload_through_console(
        rm1_client,
        "c.csv",
        csv_bytes(ENGLISH, rows_from(customer_rows(3))),
        django_capture_on_commit_callbacks,
        dry_run="on",
    )
    assert (job.status, job.created_count) == (JobStatus.ACCEPTED, 3)
    assert Customer.objects.count() == 0


def test_console_import__a_job_that_raises_ends_failed_with_its_reason(
    rm1_client, django_capture_on_commit_callbacks, monkeypatch
):
    from cpms.dataio import customers as customer_dataset

    def explode(*args, **kwargs):
        raise RuntimeError("the register is unreachable")

    monkeypatch.setattr(customer_dataset, "plan_batch", explode)

    job = upload_through_console(
        rm1_client,
        "c.csv",
        csv_bytes(ENGLISH, rows_from(customer_rows(3))),
        django_capture_on_commit_callbacks,
    )

    assert job.status == JobStatus.FAILED
    assert job.finished_at is not None
    assert "RuntimeError" in job.message
    assert Customer.objects.count() == 0
    page = rm1_client.get(reverse("dataio:job", kwargs={"pk": job.pk}), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    # Stored as a code: the job ran in Chinese, the English reader reads it in English.
    assert b"RuntimeError: the register is unreachable" in page.content
    assert b"stopped because of an unexpected error" in page.content
    assert b"hx-trigger" not in page.content
    rejected = AuditEntry.objects.get(action=AuditAction.IMPORT_REJECTED)
    assert rejected.after["message"] == job.message
