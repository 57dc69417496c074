"""API of access control."""

from __future__ import annotations

import pytest
from django.test import Client

from cpms.access.models import Grant, Role
from cpms.users.choices import Role as DefaultRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(admin, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin, scopes=['*:write'])}")


def test_permissions__registry_listed(admin_api):
    body = admin_api.get("/api/v1/access/permissions", HTTP_ACCEPT_LANGUAGE="en").json()
    by_code = {item["code"]: item for item in body}
    assert by_code["pii.reveal"] == {
        "code": "pii.reveal",
        "area": "privacy",
        "label": "Reveal masked personal data",
        "write": False,
    }
    assert by_code["roles.manage"]["write"] is True


def test_roles__list_paginated(admin_api):
    body = admin_api.get("/api/v1/access/roles?limit=3").json()
    assert [item["code"] for item in body["items"]] == [
        "administrator",
        "auditor",
        "compliance_officer",
    ]
    assert body["next_cursor"]


def test_roles__create_and_patch(admin_api):
    response = admin_api.post(
        "/api/v1/access/roles",
        {"code": "teller", "name": "Teller", "permissions": ["customers.view"]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    response = admin_api.patch(
        "/api/v1/access/roles/teller",
        {"permissions": ["customers.view", "ledger.view"]},
        content_type="application/json",
    )
    assert response.json()["permissions"] == ["customers.view", "ledger.view"]


def test_roles__conflict_is_409_with_code(admin_api):
    response = admin_api.post(
        "/api/v1/access/roles",
        {"code": "risky", "name": "Risky", "permissions": ["ledger.post", "audit.export"]},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "access.sod_conflict"


def test_grants__create_needs_approval_then_list_and_revoke(admin_api, make_user, token_for):
    from cpms.approvals.models import ApprovalRequest

    make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    # when an administrator grants a role, the default policy asks a checker first
    response = admin_api.post(
        "/api/v1/access/grants",
        {"user": "svc", "role": "trainer", "reason": "cover"},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    request_id = response.json()["approval_request_id"]
    assert response.json()["status"] == "pending_approval"
    assert not Grant.objects.filter(user__username="svc", role__code="trainer").exists()
    # and a compliance officer approves it
    checker = make_user(DefaultRole.COMPLIANCE_OFFICER, username="chk")
    checker_api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(checker, scopes=['*:write'])}")
    response = checker_api.post(
        f"/api/v1/approvals/requests/{request_id}/approve",
        {"reason": "ok"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert ApprovalRequest.objects.get(pk=request_id).status == "executed"
    grant = Grant.objects.get(user__username="svc", role__code="trainer")
    assert grant.granted_by.username == "admin1"
    listed = admin_api.get("/api/v1/access/grants?user=svc").json()["items"]
    assert sorted(item["role"] for item in listed) == ["customer_service", "trainer"]
    response = admin_api.post(
        f"/api/v1/access/grants/{grant.pk}/revoke",
        {"reason": "done"},
        content_type="application/json",
    )
    assert response.status_code == 200
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_grants__granted_at_once_when_policy_is_disabled(admin_api, make_user):
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="access.role_grant").update(enabled=False)
    make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    response = admin_api.post(
        "/api/v1/access/grants",
        {"user": "svc", "role": "trainer", "reason": "cover"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["role"] == "trainer"


def test_grants__conflict_refused_before_any_approval_request(admin_api, make_user):
    from cpms.approvals.models import ApprovalRequest

    make_user(DefaultRole.FINANCE_OFFICER, username="fin")
    response = admin_api.post(
        "/api/v1/access/grants",
        {"user": "fin", "role": "auditor", "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert ApprovalRequest.objects.count() == 0


def test_grants__non_manager_cannot_grant_and_nothing_changes(make_user, token_for):
    rm = make_user(DefaultRole.RELATIONSHIP_MANAGER, username="rmx")
    make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm, scopes=['*:write'])}")
    response = client.post(
        "/api/v1/access/grants",
        {"user": "svc", "role": "auditor", "reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404  # the grantee is outside the caller's scope
    assert Grant.objects.filter(role=Role.objects.get(code="auditor")).count() == 0
    assert client.get("/api/v1/access/roles").status_code == 403
