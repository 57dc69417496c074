"""Issue 11 (import/export): job progress, stored errors as codes rendered in the reader's
language, export headers in the reader's language (both accepted back), the export form's
picker of the user's own approved, unused clear-text export requests."""

from __future__ import annotations

import csv
import importlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from cpms.approvals.services import approval_approve
from cpms.customers.models import Customer
from cpms.dataio import customers as customer_dataset
from cpms.dataio import services
from cpms.dataio.choices import JobStatus
from cpms.dataio.errors import ExportApprovalPending
from cpms.dataio.messages import render
from cpms.dataio.models import ImportJob
from cpms.dataio.samples import customer_rows
from cpms.dataio.selectors import export_grants_for_user
from cpms.dataio.services import customers_import
from cpms.users.choices import Role
from tests.dataio.conftest import CHINESE, ENGLISH, csv_bytes, rows_from

REASON = "regulator request 2026-17"


@pytest.fixture(autouse=True)
def _media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        yield


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, content: bytes, capture, language: str = "zh-hans", name: str = "c.csv"):
    with capture(execute=True):
        response = client.post(
            reverse("dataio:import"),
            {"dataset": "customers", "file": SimpleUploadedFile(name, content)},
            HTTP_ACCEPT_LANGUAGE=language,
        )
    assert response.status_code == 302
    return ImportJob.objects.order_by("-pk").first()


# --- 1. progress ------------------------------------------------------------------------------


def test_job_progress__total_counted_first_and_checked_rows_recorded_as_it_goes(
    rm1, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(customers_import, "PROGRESS_EVERY", 50)
    seen: list[tuple[int, int, str]] = []
    check_row = customer_dataset.check_row

    def spy(context, number, values):
        if number % 50 == 0:
            seen.append(ImportJob.objects.values_list("rows_read", "rows_total", "status").get())
        return check_row(context, number, values)

    monkeypatch.setattr(customer_dataset, "check_row", spy)
    job = upload(
        client_for(rm1),
        csv_bytes(ENGLISH, rows_from(customer_rows(300))),
        django_capture_on_commit_callbacks,
    )

    assert job.status == JobStatus.ACCEPTED
    assert (job.rows_total, job.rows_read, job.rows_written, job.created_count) == (
        300,
        300,
        300,
        300,
    )
    checking = [entry for entry in seen if entry[2] == JobStatus.RUNNING]
    assert checking and all(total == 300 for _read, total, _status in checking)
    reads = [read for read, _total, _status in checking]
    assert reads == sorted(reads) and any(0 < read < 300 for read in reads)  # it moved
    assert job.percent == 100


def test_job_page__progress_bar_while_running_then_the_result(
    rm1, django_capture_on_commit_callbacks
):
    client = client_for(rm1)
    job = upload(
        client, csv_bytes(ENGLISH, rows_from(customer_rows(3))), django_capture_on_commit_callbacks
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, rows_total=1000, rows_read=250, finished_at=None
    )
    running = client.get(
        reverse("dataio:job", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert 'value="12" max="100"' in running  # checking is the first half of the bar
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.ACCEPTED, rows_read=3, rows_total=3)
    done = client.get(
        reverse("dataio:job", kwargs={"pk": job.pk}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "hx-trigger" not in done
    assert 'value="100" max="100"' in done
    assert "Imported 3 rows." in done


# --- 2. stored errors: codes, rendered in the reader's language ----------------------------


def bad_file() -> bytes:
    rows = rows_from(customer_rows(3))
    rows[1][6] = "extreme"  # risk rating, row 3
    rows[2][3] = "11010519491231002"  # identity number too short, row 4
    return csv_bytes(CHINESE, rows)


def test_stored_errors__codes_and_parameters_not_text(rm1, django_capture_on_commit_callbacks):
    job = upload(client_for(rm1), bad_file(), django_capture_on_commit_callbacks)

    assert job.status == JobStatus.REFUSED
    assert job.error_count == 2
    risk = next(error for error in job.errors if error["row"] == 3)
    assert risk["field"] == "risk_rating"
    assert risk["column"] == "风险等级"  # the header as the file writes it
    assert risk["code"] == "Unknown value “%(value)s”; use one of: %(choices)s."
    assert risk["params"] == {"value": "extreme", "choices": "low, medium, high"}
    assert "message" not in risk and "text" not in risk
    identity = next(error for error in job.errors if error["row"] == 4)
    assert identity["field"] == "identity_number" and identity["code"]
    assert job.summary["code"] == "The file was refused: %(count)s errors. Nothing was written."


def test_stored_errors__rendered_in_each_readers_language(rm1, django_capture_on_commit_callbacks):
    client = client_for(rm1)
    job = upload(client, bad_file(), django_capture_on_commit_callbacks, language="zh-hans")
    url = reverse("dataio:job", kwargs={"pk": job.pk})

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    with translation.override("en"):
        english_message = job.error_rows[0]["message"]
        english_summary = job.summary_text
    with translation.override("zh-hans"):
        chinese_message = job.error_rows[0]["message"]
        chinese_summary = job.summary_text
    assert english_message == "Unknown value “extreme”; use one of: low, medium, high."
    assert english_summary == "The file was refused: 2 errors. Nothing was written."
    assert chinese_message != english_message and "extreme" in chinese_message
    assert chinese_summary != english_summary
    assert english_message in english and english_summary in english
    assert chinese_message in chinese and english_message not in chinese

    report = client.get(
        reverse("dataio:job-errors", kwargs={"pk": job.pk}), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0] == ["Row", "Column", "Message"]
    assert lines[1] == ["3", "风险等级", english_message]


def test_stored_errors__api_renders_in_the_requests_language(
    rm1, token_for, django_capture_on_commit_callbacks
):
    job = upload(client_for(rm1), bad_file(), django_capture_on_commit_callbacks)
    token = token_for(rm1)
    response = Client().get(
        f"/api/v1/data/imports/{job.pk}/errors",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200, response.content
    assert response.json()[0]["message"] == (
        "Unknown value “extreme”; use one of: low, medium, high."
    )


def test_stored_errors__a_formula_in_a_message_is_neutralised_in_the_report(
    rm1, django_capture_on_commit_callbacks
):
    rows = rows_from(customer_rows(1))
    rows[0][6] = "=HYPERLINK(1)"
    client = client_for(rm1)
    job = upload(client, csv_bytes(CHINESE, rows), django_capture_on_commit_callbacks)
    report = client.get(reverse("dataio:job-errors", kwargs={"pk": job.pk})).content.decode(
        "utf-8-sig"
    )
    line = list(csv.reader(io.StringIO(report)))[1]
    assert "=HYPERLINK(1)" in line[2]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in line)


def test_stored_errors__old_text_entries_migrated_and_shown_as_written(rm1):
    job = ImportJob.objects.create(
        created_by=rm1,
        dataset="customers",
        original_name="old.csv",
        status=JobStatus.REFUSED,
        errors=[{"row": 2, "column": "风险等级", "message": "未知的值"}],
        message="导入被拒绝",
        error_count=1,
    )
    migration = importlib.import_module("cpms.dataio.migrations.0002_progress_and_coded_messages")
    from django.apps import apps

    migration.errors_as_codes(apps, None)
    job.refresh_from_db()
    assert job.errors == [{"row": 2, "field": "", "column": "风险等级", "text": "未知的值"}]
    with translation.override("en"):
        assert job.error_rows[0]["message"] == "未知的值"
        assert job.summary_text == "导入被拒绝"


def test_render__a_broken_stored_code_falls_back_without_failing():
    assert render({"code": "%(missing)s and more", "params": {"other": 1}}) == (
        "%(missing)s and more"
    )
    assert render({"text": "as written"}) == "as written"
    assert render({"parts": [{"code": "Unknown value.", "params": {}}, {"text": "x"}]}) == (
        "Unknown value. x"
    )


def test_header_problems_stored_as_codes_and_rendered_per_reader(rm1):
    report = services.data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(csv_bytes([*ENGLISH[:3], "Shoe size"], [["a", "b", "c", "d"]])),
        filename="c.csv",
        language="zh-hans",
    )
    assert not report.accepted
    stored = report.stored_errors()[0]
    assert [part["code"] for part in stored["parts"]][:2] == [
        "Unknown columns: %(names)s.",
        "Missing columns: %(names)s.",
    ]
    with translation.override("en"):
        assert render(stored).startswith("Unknown columns: Shoe size. Missing columns:")


# --- 3. headers in the reader's language, both accepted back --------------------------------


def export_text(actor, language: str) -> str:
    stream = io.BytesIO()
    services.data_export(
        actor=actor, dataset="customers", stream=stream, file_format="csv", language=language
    )
    return stream.getvalue().decode("utf-8-sig")


@pytest.mark.parametrize(
    ("language", "first"), [("zh-hans", "客户编号"), ("en", "Customer number")]
)
def test_export_headers__in_the_readers_language_and_import_back_unchanged(rm1, language, first):
    created = services.data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(csv_bytes(ENGLISH, rows_from(customer_rows(3)))),
        filename="c.csv",
    )
    assert created.accepted
    text = export_text(rm1, language)
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == first
    assert header == [column.header(language) for column in customer_dataset.COLUMNS]

    back = services.data_import(
        actor=rm1, dataset="customers", stream=io.BytesIO(text.encode()), filename="e.csv"
    )
    # masked personal data does not round-trip, so only the keys and plain fields are checked
    assert back.error_count == 0 or all(e["row"] is not None for e in back.errors)


def test_import__chinese_and_english_headers_both_accepted(rm1):
    for headers, start in ((CHINESE, 0), (ENGLISH, 10)):
        report = services.data_import(
            actor=rm1,
            dataset="customers",
            stream=io.BytesIO(csv_bytes(headers, rows_from(customer_rows(2, start=start)))),
            filename="c.csv",
        )
        assert report.accepted, report.errors
    assert Customer.objects.count() == 4


def test_console_export__headers_follow_the_page_language(rm1):
    client = client_for(rm1)
    for language, first in (("zh-hans", "客户编号"), ("en", "Customer number")):
        response = client.post(
            reverse("dataio:export"),
            {"dataset": "customers", "format": "csv"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert body.splitlines()[0].split(",")[0] == first


# --- 4. export picker -------------------------------------------------------------------------


@pytest.fixture
def checker(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance2", display_name="合规二")


@pytest.fixture
def customers(rm1):
    report = services.data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(csv_bytes(ENGLISH, rows_from(customer_rows(2)))),
    )
    assert report.accepted, report.errors


def approved(maker, checker, file_format: str = "csv") -> int:
    with pytest.raises(ExportApprovalPending) as pending:
        services.data_export(
            actor=maker,
            dataset="customers",
            stream=io.BytesIO(),
            file_format=file_format,
            include_pii=True,
            reason=REASON,
        )
    request_id = int(pending.value.fields["approval_request"])
    approval_approve(actor=checker, request_id=request_id, reason="ok")
    return request_id


def test_export_picker__lists_only_own_approved_unused_requests_in_words(
    compliance, checker, customers
):
    own = approved(compliance, checker, "xlsx")
    other = approved(checker, compliance)  # the checker's own request

    grants = export_grants_for_user(user=compliance)
    assert [grant.pk for grant in grants] == [own]
    with translation.override("en"):
        grants = export_grants_for_user(user=compliance)
    description = grants[0].description
    assert description.startswith("Customers as XLSX")
    assert "approved by 合规二" in description and REASON in description

    page = client_for(compliance).get(reverse("dataio:export"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert description.split(";")[0] in html
    assert f'value="{other}"' not in html
    assert "Approved request number" not in html


def test_export_picker__another_users_request_refused_like_a_missing_one(
    compliance, checker, customers
):
    other = approved(checker, compliance)
    client = client_for(compliance)

    def post(value):
        response = client.post(
            reverse("dataio:export"),
            {"dataset": "customers", "format": "csv", "approval_request": value},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200
        assert response.get("Content-Disposition") is None  # no file
        return response.context["form"].errors["approval_request"]

    assert post(str(other)) == [e.replace("999999", str(other)) for e in post("999999")]


def test_export_picker__choosing_a_grant_downloads_in_clear_once(compliance, checker, customers):
    own = approved(compliance, checker)
    client = client_for(compliance)
    response = client.post(
        reverse("dataio:export"),
        {"dataset": "holdings", "format": "xlsx", "approval_request": str(own)},
    )
    assert response.status_code == 200
    assert 'filename="customers.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert next(customer_rows(1))["identity_number"] in body
    assert export_grants_for_user(user=compliance) == []  # used: no longer offered
