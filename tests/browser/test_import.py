"""Acceptance in a real browser (issue 11): a relationship manager uploads a CSV of customers
through the console, is shown the refused row (row number, column, reason) and the downloadable
error report, corrects the file, uploads it again and watches the progress bar reach the end
and the count of customers imported."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from cpms.access import staff as access_staff
from cpms.customers.models import Customer
from cpms.dataio import customers as customer_dataset
from cpms.dataio import services, tasks
from cpms.dataio.models import ImportJob
from cpms.dataio.samples import customer_rows
from cpms.dataio.services import customers_import
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.browser.conftest import sign_in
from tests.dataio.conftest import CHINESE, csv_bytes, rows_from

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"
COUNT = 300
BAD_ROW = 57  # the 56th data row (the header is row 1)


def run_in_background(job_id: int) -> threading.Thread:
    """What the job worker does, in a thread, so the page can be watched meanwhile."""

    def work() -> None:
        try:
            services.import_job_run(job_id=job_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def upload(page, name: str, content: bytes) -> None:
    page.set_input_files(
        "#id_file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    page.locator('form[enctype="multipart/form-data"] button[type="submit"]').click()
    page.wait_for_url("**/data/imports/*/")


def test_manager_imports_customers_and_watches_the_progress(
    live_server, page, shoot, monkeypatch, tmp_path, settings
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    branch = user_services.branch_ensure(actor=None, code="HZ01", name="杭州分行", city="杭州")
    access_staff.user_create(
        actor=None,
        username="rm-import",
        password=PASSWORD,
        display_name="导入经理",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    queued: list[int] = []
    monkeypatch.setattr(tasks, "import_job_run_task", queued.append)  # the test is the worker
    monkeypatch.setattr(customers_import, "PROGRESS_EVERY", 10)
    check_row = customer_dataset.check_row

    def slow_check_row(context, number, values):  # so that a person can watch it move
        time.sleep(0.01)
        return check_row(context, number, values)

    monkeypatch.setattr(customer_dataset, "check_row", slow_check_row)
    rows = rows_from(customer_rows(COUNT))
    good = csv_bytes(CHINESE, rows)
    rows[BAD_ROW - 2][4] = "12345"  # not a phone number
    bad = csv_bytes(CHINESE, rows)

    # the manager signs in and uploads a file with one bad row
    sign_in(page, f"{live_server.url}/data/", "rm-import", PASSWORD)
    shoot(page, "1-import-form")
    upload(page, "客户.csv", bad)
    run_in_background(queued[-1]).join(timeout=120)
    page.wait_for_selector('#import-job strong[data-status="refused"]', timeout=30_000)

    # the refused row is named with its row number, column and reason; nothing was written
    errors = page.locator("#import-errors tbody tr")
    assert errors.count() == 1
    cells = errors.first.locator("td").all_inner_texts()
    assert cells[0] == str(BAD_ROW)
    assert cells[1] == "手机号码"
    assert cells[2]  # the reason, in Chinese
    assert "{" not in cells[2] and "%(" not in cells[2]
    assert Customer.objects.count() == 0
    with page.expect_download() as download:
        page.locator('a[href$="errors.csv"]').click()
    report = download.value.path().read_bytes().decode("utf-8-sig")
    assert f"{BAD_ROW},手机号码," in report
    shoot(page, "2-refused-row-explained")

    # corrected, the file is uploaded again; the progress bar moves and reaches the end
    page.goto(f"{live_server.url}/data/")
    upload(page, "客户.csv", good)
    job_id = queued[-1]
    worker = run_in_background(job_id)
    page.wait_for_function(
        "() => { const bar = document.querySelector('#import-progress');"
        " return bar && bar.value > 0 && bar.value < 100; }",
        timeout=30_000,
    )
    shoot(page, "3-progress")
    worker.join(timeout=120)
    page.wait_for_selector('#import-job strong[data-status="accepted"]', timeout=30_000)
    bar = page.locator("#import-progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("100", "100")
    assert "300" in page.locator("#import-result").inner_text()
    assert page.locator("#import-errors").count() == 0
    assert Customer.objects.count() == COUNT
    assert ImportJob.objects.get(pk=job_id).rows_written == COUNT
    shoot(page, "4-imported")


def test_compliance_officer_exports_with_an_approved_request_picked_from_a_list(
    live_server, page, shoot, enrol
):
    import io

    from cpms.approvals.services import approval_approve
    from cpms.dataio.errors import ExportApprovalPending

    branch = user_services.branch_ensure(actor=None, code="HZ01", name="杭州分行", city="杭州")
    officer = access_staff.user_create(
        actor=None,
        username="compliance-export",
        password=PASSWORD,
        display_name="合规甲",
        roles=[Role.COMPLIANCE_OFFICER.value],
        branch=branch,
    )
    checker = access_staff.user_create(
        actor=None,
        username="compliance-checker",
        password=PASSWORD,
        display_name="合规乙",
        roles=[Role.COMPLIANCE_OFFICER.value],
        branch=branch,
    )
    secret = enrol(officer)

    def approved_request(maker, approver) -> int:
        try:
            services.data_export(
                actor=maker,
                dataset="customers",
                stream=io.BytesIO(),
                file_format="xlsx",
                include_pii=True,
                reason="监管机构来函 2026-17",
            )
        except ExportApprovalPending as pending:
            request_id = int(pending.fields["approval_request"])
        approval_approve(actor=approver, request_id=request_id, reason="同意")
        return request_id

    own = approved_request(officer, checker)
    others = approved_request(checker, officer)

    sign_in(page, f"{live_server.url}/data/export/", "compliance-export", PASSWORD, secret)
    grants = page.locator("#export-grants label")
    assert grants.count() == 2  # "none" and the officer's own request
    text = grants.nth(1).inner_text()
    assert "合规乙" in text and "XLSX" in text and "监管机构来函 2026-17" in text
    assert page.locator(f'#export-grants input[value="{others}"]').count() == 0
    shoot(page, "1-export-picker")

    page.locator(f'#export-grants input[value="{own}"]').check()
    with page.expect_download() as download:
        page.locator("main form button[type=submit]").click()
    assert download.value.suggested_filename == "customers.xlsx"
    page.goto(f"{live_server.url}/data/export/")
    assert page.locator("#export-grants label").count() == 1  # used: no longer offered
