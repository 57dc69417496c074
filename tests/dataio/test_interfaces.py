"""Console and API of bulk import and export: jobs with progress and error reports, templates,
exports (streamed, scoped, audited), and the permissions the matrix cannot exercise."""

from __future__ import annotations

import csv
import io

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
from tests.dataio.conftest import CHINESE, ENGLISH, csv_bytes, rows_from, xlsx_bytes


@pytest.fixture(autouse=True)
def _media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client


def test_console_import__runs_a_job_and_shows_the_result(
    rm1_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("客户.xlsx", xlsx_bytes(CHINESE, rows_from(customer_rows(3))))
    with django_capture_on_commit_callbacks(execute=True):
        response = rm1_client.post(
            reverse("dataio:import"), {"dataset": "customers", "file": upload}
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dataio:job", kwargs={"pk": job.pk})
    assert job.status == JobStatus.ACCEPTED
    assert (job.rows_read, job.created_count, job.error_count) == (3, 3, 0)
    assert Customer.objects.count() == 3
    page = rm1_client.get(reverse("dataio:job", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert b"hx-trigger" not in page.content  # finished: polling stops
    actions = list(
        AuditEntry.objects.filter(action__startswith="data.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [AuditAction.IMPORT_SUBMITTED, AuditAction.IMPORT_APPLIED]


def test_console_import__refused_job_lists_errors_and_offers_the_report(
    rm1_client, django_capture_on_commit_callbacks
):
    rows = rows_from(customer_rows(2))
    rows[1][4] = "12"
    upload = SimpleUploadedFile("c.csv", csv_bytes(ENGLISH, rows))
    with django_capture_on_commit_callbacks(execute=True):
        rm1_client.post(reverse("dataio:import"), {"dataset": "customers", "file": upload})
    job = ImportJob.objects.get()
    assert job.status == JobStatus.REFUSED
    assert [(error["row"], error["column"]) for error in job.errors] == [(3, "Phone")]
    assert Customer.objects.count() == 0
    report = rm1_client.get(reverse("dataio:job-errors", kwargs={"pk": job.pk}))
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[1][:2] == ["3", job.errors[0]["column"]]
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT_REJECTED).count() == 1


def test_console_job__other_users_job_is_404(
    rm1_client, make_user, django_capture_on_commit_callbacks
):
    from cpms.dataio.services import import_job_submit

    other = make_user(username="rm-other")
    job = import_job_submit(
        actor=other, dataset="customers", upload=SimpleUploadedFile("c.csv", b"a,b\n")
    )
    assert rm1_client.get(reverse("dataio:job", kwargs={"pk": job.pk})).status_code == 404


def test_console_template_download(rm1_client):
    response = rm1_client.get(
        reverse("dataio:template", kwargs={"dataset": "customers", "file_format": "xlsx"})
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"


def test_api_import__job_status_and_errors(rm1, token_for, django_capture_on_commit_callbacks):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['*:write'])}")
    rows = rows_from(customer_rows(2))
    rows[0][6] = "extreme"
    upload = SimpleUploadedFile("c.csv", csv_bytes(ENGLISH, rows))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/data/imports", {"dataset": "customers", "file": upload, "dry_run": "true"}
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    status = client.get(f"/api/v1/data/imports/{job_id}").json()
    assert (status["status"], status["error_count"], status["dry_run"]) == ("refused", 1, True)
    errors = client.get(f"/api/v1/data/imports/{job_id}/errors").json()
    assert errors[0]["row"] == 2
    assert "extreme" in errors[0]["message"]


def test_api_import__missing_file_is_a_field_error(rm1, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['*:write'])}")
    response = client.post("/api/v1/data/imports", {"dataset": "customers"})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"file"}
    assert ImportJob.objects.count() == 0


def test_api_export__streams_the_scope_and_is_audited(rm1, rm2, token_for):
    from cpms.dataio.services import data_import

    data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(csv_bytes(ENGLISH, rows_from(customer_rows(2)))),
    )
    for user, expected in ((rm1, 3), (rm2, 1)):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['*:read'])}")
        response = client.get("/api/v1/data/exports/customers")
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert len(list(csv.reader(io.StringIO(body)))) == expected
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).count() == 2


@pytest.mark.parametrize("query", ["", "?format=xlsx"])
def test_api_export__refused_without_permission(make_user, token_for, query):
    from cpms.users.choices import Role

    user = make_user(Role.FINANCE_OFFICER, username="fin")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['*:read'])}")
    response = client.get(f"/api/v1/data/exports/customers{query}")
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).count() == 0


def test_api_export__include_pii_needs_reveal(rm1, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['*:read'])}")
    response = client.get("/api/v1/data/exports/customers?include_pii=true")
    assert response.status_code == 403


def test_console_export__downloads(rm1_client):
    response = rm1_client.post(reverse("dataio:export"), {"dataset": "customers", "format": "csv"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith("\ufeff".encode())
