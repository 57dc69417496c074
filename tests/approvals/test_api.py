"""API of the maker-checker: /api/v1/approvals/..."""

from __future__ import annotations

import pytest
from django.test import Client

from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from cpms.audit.models import AuditEntry
from tests.approvals.conftest import TEST_ACTION

BASE = "/api/v1/approvals"


@pytest.fixture
def api_for(token_for):
    def make(user) -> Client:
        return Client(
            HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['approvals:write'])}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    return make


@pytest.mark.django_db
def test_requests__anonymous_is_401(client):
    for method, path in (
        ("get", f"{BASE}/requests"),
        ("get", f"{BASE}/requests/1"),
        ("post", f"{BASE}/requests/1/approve"),
        ("get", f"{BASE}/policies"),
        ("patch", f"{BASE}/policies/ledger.transfer"),
    ):
        response = getattr(client, method)(path, content_type="application/json")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_requests__staff_without_approvals_permission_is_403(api_for, outsider, submit):
    request = submit()
    client = api_for(outsider)
    assert client.get(f"{BASE}/requests").status_code == 403
    assert client.get(f"{BASE}/policies").status_code == 403
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    response = client.post(
        f"{BASE}/requests/{request.pk}/approve", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    # nothing changed; the refusal itself is recorded (access.denied)
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before


@pytest.mark.django_db
def test_requests__filters_mine_and_awaiting_me(api_for, submit, maker, checker, make_user):
    other_maker = make_user("finance_officer", username="fin-maker")
    first = submit()
    second = submit(actor=other_maker)
    third = submit()
    checker_api = api_for(checker)
    body = checker_api.get(f"{BASE}/requests?awaiting_me=true").json()
    assert [item["id"] for item in body["items"]] == [third.pk, second.pk, first.pk]
    # the maker of `second` holds approvals.decide: its own request is not awaiting it
    other_api = api_for(other_maker)
    body = other_api.get(f"{BASE}/requests?awaiting_me=true").json()
    assert [item["id"] for item in body["items"]] == [third.pk, first.pk]
    body = other_api.get(f"{BASE}/requests?mine=true").json()
    assert [item["id"] for item in body["items"]] == [second.pk]
    # a plain maker sees only their own
    body = api_for(maker).get(f"{BASE}/requests").json()
    assert [item["id"] for item in body["items"]] == [third.pk, first.pk]
    assert api_for(maker).get(f"{BASE}/requests?awaiting_me=true").json()["items"] == []


@pytest.mark.django_db
def test_requests__status_filter_and_cursor_pages(api_for, submit, checker):
    requests = [submit() for _ in range(3)]
    client = api_for(checker)
    client.post(f"{BASE}/requests/{requests[0].pk}/approve", {}, content_type="application/json")
    page = client.get(f"{BASE}/requests?status=pending&limit=1").json()
    assert [item["id"] for item in page["items"]] == [requests[2].pk]
    page = client.get(f"{BASE}/requests?status=pending&limit=1&cursor={page['next_cursor']}").json()
    assert [item["id"] for item in page["items"]] == [requests[1].pk]
    assert page["next_cursor"] is None
    executed = client.get(f"{BASE}/requests?status=executed").json()["items"]
    assert [item["id"] for item in executed] == [requests[0].pk]


@pytest.mark.django_db
def test_request_get__shape(api_for, submit, maker, checker):
    request = submit()
    body = api_for(maker).get(f"{BASE}/requests/{request.pk}").json()
    assert body["id"] == request.pk
    assert body["action"] == TEST_ACTION
    assert body["status"] == "pending"
    assert body["maker"] == {"id": maker.pk, "username": "maker", "display_name": ""}
    assert body["summary"] == "Create branch N01 新分行1"
    assert body["payload"] == {"code": "N01", "name": "新分行1"}
    assert body["approvers_required"] == 1
    assert body["approvals"] == 0
    assert body["decisions"] == []
    assert body["result"] is None


@pytest.mark.django_db
def test_request_get__invisible_request_is_404(api_for, submit, make_user):
    request = submit()
    another_maker = make_user("relationship_manager", username="rm-x")
    response = api_for(another_maker).get(f"{BASE}/requests/{request.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = api_for(another_maker).post(
        f"{BASE}/requests/{request.pk}/cancel", {}, content_type="application/json"
    )
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


@pytest.mark.django_db
def test_request_approve__executes_and_returns_the_request(api_for, submit, checker, operation):
    request = submit()
    response = api_for(checker).post(
        f"{BASE}/requests/{request.pk}/approve", {"reason": "ok"}, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "executed"
    assert body["approvals"] == 1
    assert body["result"]["code"] == "N01"
    assert [(d["approver"]["username"], d["decision"], d["reason"]) for d in body["decisions"]] == [
        ("checker", "approved", "ok")
    ]
    assert operation.calls == [request.pk]
    entry = AuditEntry.objects.get(action="approval.approved")
    # the entry names the token the checker used
    from cpms.users.models import ApiToken

    assert entry.channel == f"api:{ApiToken.objects.get(user=checker).prefix}"


@pytest.mark.django_db
def test_request_approve__self_approval_is_403_and_changes_nothing(api_for, operation, checker):
    from cpms.approvals import services

    request = services.approval_submit(
        actor=checker, action=TEST_ACTION, payload={"code": "A", "name": "a"}, reason="r"
    ).request
    client = api_for(checker)
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    response = client.post(
        f"{BASE}/requests/{request.pk}/approve", {"reason": "me"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "approvals.self_approval"
    assert ApprovalDecision.objects.count() == 0
    # nothing changed; the refusal itself is recorded (access.denied)
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []


@pytest.mark.django_db
def test_request_reject__reason_required_then_rejects(api_for, submit, checker):
    request = submit()
    client = api_for(checker)
    response = client.post(
        f"{BASE}/requests/{request.pk}/reject", {"reason": ""}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"reason": "A reason is required."}
    assert ApprovalDecision.objects.count() == 0
    response = client.post(
        f"{BASE}/requests/{request.pk}/reject", {"reason": "no"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


@pytest.mark.django_db
def test_request_cancel__by_maker(api_for, submit, maker, checker):
    request = submit()
    response = api_for(checker).post(
        f"{BASE}/requests/{request.pk}/cancel", {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "approvals.not_maker"
    response = api_for(maker).post(
        f"{BASE}/requests/{request.pk}/cancel", {"reason": "dup"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.django_db
def test_request_approve__expired_is_409(api_for, submit, checker):
    from datetime import timedelta

    from django.utils import timezone

    request = submit()
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = api_for(checker).post(
        f"{BASE}/requests/{request.pk}/approve", {}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "approvals.expired"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED


@pytest.mark.django_db
def test_policies__list(api_for, checker):
    body = api_for(checker).get(f"{BASE}/policies").json()
    assert [item["action"] for item in body["items"]] == [
        "access.role_grant",
        "customers.kyc_verify",
        "customers.merge",
        "holdings.dispose",
        "ledger.transfer",
        "monitoring.rule_change",
        "points.adjust",
        "privacy.bulk_export",
    ]
    transfer = body["items"][4]
    assert transfer["label"] == "Transfer above the threshold"
    assert (transfer["threshold_minor"], transfer["currency"]) == (5_000_000, "CNY")


@pytest.mark.django_db
def test_policy_update__configure_holder_changes_and_is_audited(api_for, configurer):
    response = api_for(configurer).patch(
        f"{BASE}/policies/ledger.transfer",
        {"approvers_required": 2, "reason": "policy review"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["approvers_required"] == 2
    entry = AuditEntry.objects.get(action="approval.policy_changed")
    assert (entry.before, entry.after, entry.reason) == (
        {"approvers_required": 1},
        {"approvers_required": 2},
        "policy review",
    )


@pytest.mark.django_db
def test_policy_update__clear_threshold(api_for, configurer):
    response = api_for(configurer).patch(
        f"{BASE}/policies/ledger.transfer",
        {"clear_threshold": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["threshold_minor"], response.json()["currency"]) == (None, "")


@pytest.mark.django_db
def test_policy_update__without_configure_is_403_and_changes_nothing(api_for, checker):
    response = api_for(checker).patch(
        f"{BASE}/policies/ledger.transfer", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 403
    assert ApprovalPolicy.objects.get(action="ledger.transfer").enabled is True
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0


@pytest.mark.django_db
def test_policy_update__invalid_is_422_and_unknown_is_404(api_for, configurer):
    client = api_for(configurer)
    response = client.patch(
        f"{BASE}/policies/ledger.transfer",
        {"approver_permission": "nope"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"approver_permission": "Unknown permission."}
    response = client.patch(f"{BASE}/policies/x.y", {}, content_type="application/json")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0
