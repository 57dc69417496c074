"""Console pages of access control."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cpms.access.models import Grant, PermissionConflict, Role
from cpms.audit.models import AuditEntry
from cpms.users.choices import Role as DefaultRole

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_list__admin_sees_grants(admin_client, make_user):
    make_user(DefaultRole.AUDITOR, username="aud1")
    content = admin_client.get(reverse("access:staff-list")).content.decode()
    assert "aud1" in content
    assert "审计" in content or "Auditor" in content


def test_pages__relationship_manager_is_refused(make_user):
    client = client_for(make_user(DefaultRole.RELATIONSHIP_MANAGER))
    for name in ("access:staff-list", "access:role-list", "access:role-create", "access:conflicts"):
        assert client.get(reverse(name)).status_code == 403, name


def test_pages__auditor_reads_but_cannot_change(make_user):
    auditor = make_user(DefaultRole.AUDITOR)
    target = make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    client = client_for(auditor)
    assert client.get(reverse("access:role-list")).status_code == 200
    assert client.get(reverse("access:staff-grants", args=[target.pk])).status_code == 200
    assert client.get(reverse("access:role-create")).status_code == 403
    response = client.post(
        reverse("access:staff-grants", args=[target.pk]),
        {"role": "auditor", "scope": "all", "reason": "x"},
    )
    assert response.status_code == 403
    assert list(target.grants.values_list("role__code", flat=True)) == ["customer_service"]


def test_role_create__through_the_form(admin_client):
    response = admin_client.post(
        reverse("access:role-create"),
        {
            "code": "teller",
            "name": "柜员",
            "description": "",
            "permissions": ["customers.view", "ledger.view"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    role = Role.objects.get(code="teller")
    assert sorted(role.permissions.values_list("code", flat=True)) == [
        "customers.view",
        "ledger.view",
    ]


def test_role_create__conflict_is_shown_on_the_form(admin_client):
    response = admin_client.post(
        reverse("access:role-create"),
        {"code": "risky", "name": "Risky", "permissions": ["ledger.post", "audit.export"]},
    )
    assert response.status_code == 200
    assert "audit.export + ledger.post" in response.content.decode()
    assert not Role.objects.filter(code="risky").exists()


def test_grant__through_the_console_goes_to_approval(admin_client, make_user):
    from cpms.approvals.models import ApprovalRequest

    target = make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    url = reverse("access:staff-grants", args=[target.pk])
    response = admin_client.post(
        url, {"role": "trainer", "scope": "all", "reason": "cover"}, follow=True
    )
    request = ApprovalRequest.objects.get(action="access.role_grant")
    assert f"#{request.pk}" in response.content.decode()
    assert request.payload["role"] == "trainer"
    assert not Grant.objects.filter(user=target, role__code="trainer").exists()


def test_grant_and_revoke__through_the_console(admin_client, make_user):
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="access.role_grant").update(enabled=False)
    target = make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    url = reverse("access:staff-grants", args=[target.pk])
    response = admin_client.post(url, {"role": "trainer", "scope": "all", "reason": "cover"})
    assert response.status_code == 302
    grant = Grant.objects.get(user=target, role__code="trainer")
    response = admin_client.post(
        reverse("access:grant-revoke", args=[grant.pk]), {"reason": "done"}
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert AuditEntry.objects.filter(action="role.revoked", reason="done").count() == 1


def test_staff_grants__out_of_scope_user_is_404(make_user, admin):
    from cpms.access import checks, services
    from cpms.users import services as user_services

    far_branch = user_services.branch_ensure(actor=None, code="T09", name="远方")
    far = make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=far_branch)
    viewer = make_user(DefaultRole.CUSTOMER_SERVICE, username="viewer")
    services.grant_create(
        actor=admin, user=viewer, role=Role.objects.get(code="auditor"), scope="branch"
    )
    checks.forget(viewer)
    client = client_for(viewer)
    assert client.get(reverse("access:staff-grants", args=[far.pk])).status_code == 404
    assert client.get(reverse("access:staff-grants", args=[999_999])).status_code == 404


def test_conflicts__declare_and_remove(admin_client):
    response = admin_client.post(
        reverse("access:conflicts"), {"first": "pii.reveal", "second": "customers.manage"}
    )
    assert response.status_code == 302
    conflict = PermissionConflict.objects.get(first="customers.manage", second="pii.reveal")
    response = admin_client.post(reverse("access:conflict-remove", args=[conflict.pk]))
    assert response.status_code == 302
    assert not PermissionConflict.objects.filter(pk=conflict.pk).exists()


def test_conflicts__refusal_is_shown_next_to_its_field(admin_client):
    admin_client.cookies["django_language"] = "en"
    data = {"first": "pii.reveal", "second": "customers.manage"}
    assert admin_client.post(reverse("access:conflicts"), data).status_code == 302
    response = admin_client.post(reverse("access:conflicts"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == {"second": ["This conflict is declared already."]}


def test_navigation__access_entry_only_for_holders(admin_client, staff_client):
    url = reverse("access:staff-list")
    assert f'href="{url}"' in admin_client.get("/").content.decode()
    assert f'href="{url}"' not in staff_client.get("/").content.decode()


def test_role_create__needs_a_recent_sign_in(admin):
    client = client_for(admin)  # signed in, but not recently re-authenticated
    response = client.post(
        reverse("access:role-create"), {"code": "late", "name": "Late", "permissions": []}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:reauth"))
    assert not Role.objects.filter(code="late").exists()
