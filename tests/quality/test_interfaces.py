"""API, console, CLI, customer tab and demo of data quality: happy paths, masking, scope."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cpms.approvals.models import ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.quality import services
from cpms.quality.models import DuplicateCandidate, QualitySummary
from tests.quality.conftest import person, resident_id


def _api(user, token_for, write: bool = True) -> Client:
    scope = "quality:write" if write else "quality:read"
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=[scope])}")


@pytest.fixture
def pair(rm1):
    first = person(rm1, "张三", sequence="001", phone="13800138000")
    second = person(rm1, "章三", sequence="001", phone="13800138000")
    services.duplicate_scan(actor=rm1)
    return first, second, DuplicateCandidate.objects.get()


# --- API ----------------------------------------------------------------------------------


def test_api_candidate_list__masked_and_scoped(rm1, rm2, token_for, pair):
    first, _second, candidate = pair

    response = _api(rm1, token_for).get("/api/v1/quality/candidates")

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["id"] == candidate.pk
    assert item["reasons"] == ["date_of_birth", "identity_number", "name", "phone"]
    assert item["score"] == 100
    assert item["customer_a"]["id"] == first.pk
    assert item["customer_b"]["legal_name"] == "章三"
    assert item["customer_a"]["phone"] == "+86138****8000"
    assert item["customer_a"]["completeness"] == 35
    assert resident_id() not in response.content.decode()
    assert "13800138000" not in response.content.decode()
    assert _api(rm2, token_for).get("/api/v1/quality/candidates").json()["items"] == []


def test_api_candidate_get__out_of_scope_is_404(rm2, token_for, pair):
    response = _api(rm2, token_for).get(f"/api/v1/quality/candidates/{pair[2].pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_candidate_dismiss(rm1, token_for, pair):
    candidate = pair[2]
    client = _api(rm1, token_for)

    response = client.post(
        f"/api/v1/quality/candidates/{candidate.pk}/dismiss",
        data=json.dumps({"reason": "twins"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    assert response.json()["decision_reason"] == "twins"
    again = client.post(
        f"/api/v1/quality/candidates/{candidate.pk}/dismiss",
        data=json.dumps({"reason": "twins"}),
        content_type="application/json",
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "quality.candidate_closed"


def test_api_candidate_merge__submits_for_approval(rm1, token_for, pair):
    first, _second, candidate = pair

    response = _api(rm1, token_for).post(
        f"/api/v1/quality/candidates/{candidate.pk}/merge",
        data=json.dumps({"survivor_id": first.pk, "reason": "same person"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    request = ApprovalRequest.objects.get(action="customers.merge")
    assert response.json() == {
        "candidate_id": candidate.pk,
        "status": "merge_requested",
        "approval_request_id": request.pk,
        "merge_id": None,
    }


def test_api_candidate_merge__bad_survivor_is_a_field_error(rm1, token_for, pair):
    client = _api(rm1, token_for)
    before = AuditEntry.objects.exclude(action="access.denied").count()

    response = client.post(
        f"/api/v1/quality/candidates/{pair[2].pk}/merge",
        data=json.dumps({"survivor_id": 999999, "reason": "x"}),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "quality.survivor_invalid"
    assert list(response.json()["error"]["fields"]) == ["survivor_id"]
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_api_scan_completeness_stale_overview(rm1, token_for):
    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")
    client = _api(rm1, token_for)

    scan = client.post("/api/v1/quality/scan")
    completeness = client.get("/api/v1/quality/completeness", {"limit": 1})
    stale = client.get("/api/v1/quality/stale")
    overview = client.get("/api/v1/quality/overview")

    assert scan.json() == {"customers": 2, "flagged": 1, "refreshed": 0, "skipped_blocks": 0}
    page = completeness.json()
    assert [row["completeness"] for row in page["items"]] == [20]
    assert page["next_cursor"]
    second = client.get("/api/v1/quality/completeness", {"limit": 1, "cursor": page["next_cursor"]})
    assert [row["completeness"] for row in second.json()["items"]] == [20]
    assert stale.json() == {"items": [], "next_cursor": None}
    assert overview.json()["open_duplicates"] == 1
    customer_id = page["items"][0]["id"]
    breakdown = client.get(f"/api/v1/quality/completeness/{customer_id}").json()
    assert breakdown["score"] == 20
    assert {item["element"] for item in breakdown["elements"] if item["present"]} == {
        "date_of_birth",
        "relationship_manager",
    }


def test_api_summaries__whole_firm_figures_for_all_scope_reviewers(rm1, compliance, token_for):
    services.quality_summary_write(actor=compliance)

    seen = _api(compliance, token_for).get("/api/v1/quality/summaries").json()["items"]
    hidden = _api(rm1, token_for).get("/api/v1/quality/summaries").json()["items"]

    assert [row["customers"] for row in seen] == [0]
    assert hidden == []


def test_api__read_token_cannot_write(rm1, token_for, pair):
    client = _api(rm1, token_for, write=False)
    before = AuditEntry.objects.exclude(action="access.denied").count()

    response = client.post(
        f"/api/v1/quality/candidates/{pair[2].pk}/dismiss",
        data=json.dumps({"reason": "x"}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


# --- console ------------------------------------------------------------------------------


def test_console_pages_render_for_a_reviewer(rm1_client, pair):
    candidate = pair[2]
    for url in ("/quality/", "/quality/completeness/", "/quality/stale/", "/quality/summaries/"):
        response = rm1_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
    detail = rm1_client.get(f"/quality/candidates/{candidate.pk}/")
    assert detail.status_code == 200
    content = detail.content.decode()
    assert "+86138****8000" in content
    assert "13800138000" not in content
    assert resident_id() not in content


def test_console_candidate__out_of_scope_is_404(rm2, pair):
    client = Client()
    client.force_login(rm2)

    assert client.get(f"/quality/candidates/{pair[2].pk}/").status_code == 404


def test_console_dismiss_and_merge(rm1_client, rm1, make_user):
    first = person(rm1, "张三", sequence="001")
    second = person(rm1, "章三", sequence="001")
    third = person(rm1, "张叁", sequence="001")
    services.duplicate_scan(actor=rm1)
    to_dismiss = DuplicateCandidate.objects.get(customer_a=first, customer_b=third)
    to_merge = DuplicateCandidate.objects.get(customer_a=first, customer_b=second)

    dismissed = rm1_client.post(
        f"/quality/candidates/{to_dismiss.pk}/dismiss", {"reason": "different people"}
    )
    merged = rm1_client.post(
        f"/quality/candidates/{to_merge.pk}/merge", {"survivor": first.pk, "reason": "same"}
    )

    assert dismissed.status_code == 302 and merged.status_code == 302
    to_dismiss.refresh_from_db()
    to_merge.refresh_from_db()
    assert to_dismiss.status == "dismissed"
    assert to_merge.status == "merge_requested"


def test_console_scan(rm1_client, rm1):
    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")

    response = rm1_client.post("/quality/scan")

    assert response.status_code == 302
    assert DuplicateCandidate.objects.count() == 1


def test_customer_tab__shows_completeness_and_pairs(rm1_client, pair):
    first = pair[0]

    response = rm1_client.get(f"/customers/{first.pk}/?tab=quality")

    assert response.status_code == 200
    assert f"/quality/candidates/{pair[2].pk}/" in response.content.decode()


# --- CLI ----------------------------------------------------------------------------------


def test_cli_scan_and_summary(rm1, compliance):
    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")
    out = StringIO()

    call_command("quality", "--actor", "rm1", "scan", stdout=out)
    call_command("quality", "summary", stdout=out)

    text = out.getvalue()
    assert "customers scanned: 2" in text
    assert "new possible duplicates: 1" in text
    assert "open possible duplicates: 1" in text
    assert QualitySummary.objects.count() == 1


def test_cli__refusals_exit_with_a_message(rm1):
    with pytest.raises(CommandError, match="No active user"):
        call_command("quality", "--actor", "nobody", "scan")
    with pytest.raises(CommandError, match="scope"):
        call_command("quality", "--actor", "rm1", "summary")


# --- demo ---------------------------------------------------------------------------------


def test_demo__does_nothing_without_demo_customers(rm1):
    from cpms.quality import demo

    assert demo.load(rng=random.Random(1), options={}) == []


def test_demo__adds_a_near_duplicate_once(rm1):
    from cpms.quality import demo

    person(rm1, "张伟", sequence="001", phone="13800138000", tags=["demo-finance"])

    created = demo.load(rng=random.Random(1), options={})
    again = demo.load(rng=random.Random(1), options={})

    assert len(created) == 2
    assert "possible duplicates flagged: 1" in created[1]
    assert again == []
    candidate = DuplicateCandidate.objects.get()
    assert candidate.customer_b.legal_name == "章伟"
