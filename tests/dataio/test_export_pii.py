"""Clear-text bulk export cannot get around the reveal limit (issue 10, item 5): it needs a
reason, an approved privacy.bulk_export request (maker-checker, one download) and one reveal of
the budget (429 once used up), on every face; every refusal is audited."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_approve
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.dataio.errors import ExportApprovalPending, ExportNotApproved
from cpms.dataio.samples import customer_rows
from cpms.dataio.services import data_export, data_import
from cpms.privacy.errors import RateLimited, ReasonRequired
from cpms.users.choices import Role
from tests.dataio.conftest import ENGLISH, csv_bytes, rows_from

REASON = "regulator request 2026-17"


@pytest.fixture
def customers(rm1):
    report = data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(csv_bytes(ENGLISH, rows_from(customer_rows(2)))),
    )
    assert report.accepted, report.errors


@pytest.fixture
def checker(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance2")


def export(actor, **kwargs) -> str:
    stream = io.BytesIO()
    data_export(
        actor=actor,
        dataset="customers",
        stream=stream,
        file_format="csv",
        include_pii=True,
        **kwargs,
    )
    return stream.getvalue().decode("utf-8-sig")


def approved_request(compliance, checker) -> int:
    with pytest.raises(ExportApprovalPending) as pending:
        export(compliance, reason=REASON)
    request_id = int(pending.value.fields["approval_request"])
    approval_approve(actor=checker, request_id=request_id, reason="ok")
    return request_id


def test_clear_export__needs_a_reason(compliance, customers):
    with pytest.raises(ReasonRequired):
        export(compliance)
    refused = AuditEntry.objects.get(action=AuditAction.PII_REVEAL_REFUSED)
    assert refused.after == {"field": "*", "refusal": "privacy.reason_required"}
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).exists()


def test_clear_export__goes_through_approval_once(compliance, checker, customers):
    request_id = approved_request(compliance, checker)
    assert ApprovalRequest.objects.get(pk=request_id).reason == REASON

    text = export(compliance, approval_request=request_id)

    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][4] == next(customer_rows(1))["identity_number"]
    written = AuditEntry.objects.get(action=AuditAction.EXPORT_WRITTEN)
    assert (written.after["include_pii"], written.after["approval_request"]) == (True, request_id)
    assert written.reason == REASON
    assert AuditEntry.objects.filter(action=AuditAction.PII_REVEALED).count() == 1
    with pytest.raises(ExportNotApproved):
        export(compliance, approval_request=request_id)
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).count() == 1


def test_clear_export__someone_elses_or_unapproved_request_is_refused(
    compliance, checker, customers
):
    with pytest.raises(ExportApprovalPending) as pending:
        export(compliance, reason=REASON)
    pending_id = int(pending.value.fields["approval_request"])
    with pytest.raises(ExportNotApproved):
        export(compliance, approval_request=pending_id)
    with pytest.raises(ExportNotApproved):
        export(checker, approval_request=pending_id, reason=REASON)
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).exists()


def test_clear_export__counts_against_the_reveal_budget(
    compliance, checker, customers, settings, token_for
):
    settings.CPMS_PII_REVEAL_LIMIT = 1
    first = approved_request(compliance, checker)
    export(compliance, approval_request=first)
    second = approved_request(compliance, checker)
    with pytest.raises(RateLimited):
        export(compliance, approval_request=second)

    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(compliance, scopes=['*:read'])}")
    response = api.get(f"/api/v1/data/exports/customers?include_pii=true&approval_request={second}")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "privacy.rate_limited"
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).count() == 1


def test_api_clear_export__without_reason_or_approval_gives_no_clear_data(
    compliance, customers, token_for
):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(compliance, scopes=['*:read'])}")
    response = api.get("/api/v1/data/exports/customers?include_pii=true")
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"reason"}
    response = api.get(f"/api/v1/data/exports/customers?include_pii=true&reason={REASON}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dataio.export_approval_pending"
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT_WRITTEN).exists()


def test_clear_export__policy_off_needs_reason_and_budget_only(compliance, customers):
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="privacy.bulk_export").update(enabled=False)
    text = export(compliance, reason=REASON)
    assert len(list(csv.reader(io.StringIO(text)))) == 3
    assert AuditEntry.objects.filter(action=AuditAction.PII_REVEALED).count() == 1
