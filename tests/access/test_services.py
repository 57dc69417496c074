"""Roles, grants and segregation of duties, through the services."""

from __future__ import annotations

import pytest
from django.utils import translation

from cpms.access import checks, services
from cpms.access.errors import SegregationOfDutiesConflict, SelfGrantRefused
from cpms.access.models import Grant, PermissionConflict, Role
from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied, ValidationFailed
from cpms.core.permissions import DEFAULT_ROLE_PERMISSIONS
from cpms.users.choices import Role as DefaultRole

pytestmark = pytest.mark.django_db


def test_migrate__default_roles_with_permissions_and_conflicts():
    assert set(Role.objects.values_list("code", flat=True)) == set(DefaultRole.values)
    auditor = Role.objects.get(code="auditor")
    assert set(auditor.permissions.values_list("code", flat=True)) == {
        "users.view",
        "customers.view",
        "ledger.view",
        "audit.view",
        "audit.export",
        "audit.verify",
        "holdings.view",
        "documents.view",
        "retail.view",
        "data.export",
    }
    # the migrations give every built-in role exactly its documented default permissions
    for role in Role.objects.all():
        assert set(role.permissions.values_list("code", flat=True)) == set(
            DEFAULT_ROLE_PERMISSIONS[role.code]
        ), role.code
    assert set(PermissionConflict.objects.values_list("first", "second")) == {
        ("audit.export", "ledger.post"),
        ("approvals.decide", "roles.manage"),
    }


def test_user_create__grants_default_role_with_default_scope(make_user, branch):
    rm = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    finance = make_user(DefaultRole.FINANCE_OFFICER)
    assert list(rm.grants.values_list("role__code", "scope", "branch")) == [
        ("relationship_manager", "assigned", None)
    ]
    assert list(finance.grants.values_list("role__code", "scope", "branch")) == [
        ("finance_officer", "branch", branch.pk)
    ]
    assert list(rm.groups.values_list("name", flat=True)) == ["relationship_manager"]


def test_role_create__composes_permissions_and_audits(admin):
    role = services.role_create(
        actor=admin,
        code="teller",
        name="Teller",
        permissions=["customers.view", "ledger.view"],
    )
    assert sorted(role.permissions.values_list("code", flat=True)) == [
        "customers.view",
        "ledger.view",
    ]
    entry = AuditEntry.objects.get(action="role.created")
    assert entry.actor == admin
    assert entry.after["permissions"] == ["customers.view", "ledger.view"]


def test_role_create__unknown_permission_names_it(admin, audit_count):
    before = audit_count()
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.role_create(actor=admin, code="x", name="X", permissions=["ledger.fly"])
    assert caught.value.fields == {"permissions": "Unknown permission: ledger.fly"}
    assert not Role.objects.filter(code="x").exists()
    assert audit_count() == before


def test_role_create__conflicting_permissions_refused(admin, audit_count):
    before = audit_count()
    with pytest.raises(SegregationOfDutiesConflict):
        services.role_create(
            actor=admin, code="risky", name="Risky", permissions=["ledger.post", "audit.export"]
        )
    assert not Role.objects.filter(code="risky").exists()
    assert audit_count() == before


def test_role_create__without_permission_refused(make_user, audit_count):
    rm = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    before = audit_count()
    with pytest.raises(PermissionDenied):
        services.role_create(actor=rm, code="mine", name="Mine", permissions=[])
    assert audit_count() == before


def test_grant_create__conflict_with_held_role_refused(admin, make_user, audit_count):
    # given a finance officer (ledger.post)
    finance = make_user(DefaultRole.FINANCE_OFFICER)
    before = audit_count()
    # when the auditor role (audit.export) is added
    with pytest.raises(SegregationOfDutiesConflict) as caught:
        services.grant_create(
            actor=admin, user=finance, role=Role.objects.get(code="auditor"), reason="cover"
        )
    # then it is refused and nothing changed
    assert "audit.export + ledger.post" in caught.value.message
    assert list(finance.grants.values_list("role__code", flat=True)) == ["finance_officer"]
    assert audit_count() == before


def test_grant_create__self_grant_refused(admin, audit_count):
    before = audit_count()
    with pytest.raises(SelfGrantRefused):
        services.grant_create(actor=admin, user=admin, role=Role.objects.get(code="auditor"))
    assert admin.grants.count() == 1
    assert audit_count() == before


def test_grant_create__then_revoke_changes_permissions_and_audits(admin, make_user):
    service = make_user(DefaultRole.CUSTOMER_SERVICE)
    assert not checks.user_has_permission(service, "audit.view")
    grant = services.grant_create(
        actor=admin, user=service, role=Role.objects.get(code="auditor"), reason="quarter review"
    )
    checks.forget(service)
    assert checks.user_has_permission(service, "audit.view")
    services.grant_revoke(actor=admin, grant=grant, reason="review done")
    checks.forget(service)
    assert not checks.user_has_permission(service, "audit.view")
    actions = list(
        AuditEntry.objects.filter(object_type="user", object_id=str(service.pk))
        .order_by("pk")
        .values_list("action", "reason")
    )
    assert actions[-2:] == [("role.granted", "quarter review"), ("role.revoked", "review done")]
    assert Grant.objects.get(pk=grant.pk).revoked_by == admin


def test_grant_create__branch_scope_needs_a_branch(admin, make_user):
    service = make_user(DefaultRole.CUSTOMER_SERVICE, branch=None)
    with pytest.raises(ValidationFailed) as caught:
        services.grant_create(
            actor=admin, user=service, role=Role.objects.get(code="auditor"), scope="branch"
        )
    assert list(caught.value.fields) == ["branch"]


def test_role_update__refused_when_a_holder_would_conflict(admin, make_user, audit_count):
    make_user(DefaultRole.FINANCE_OFFICER, username="f1")
    role = Role.objects.get(code="finance_officer")
    before = audit_count()
    with pytest.raises(SegregationOfDutiesConflict):
        services.role_update(
            actor=admin,
            role=role,
            permissions=["ledger.view", "ledger.post", "audit.export"],
        )
    assert "audit.export" not in role.permissions.values_list("code", flat=True)
    assert audit_count() == before


def test_role_update__deactivated_role_grants_nothing(admin, make_user):
    teller = make_user(DefaultRole.CUSTOMER_SERVICE)
    assert checks.user_has_permission(teller, "customers.view")
    services.role_update(
        actor=admin, role=Role.objects.get(code="customer_service"), is_active=False
    )
    checks.forget(teller)
    assert not checks.user_has_permission(teller, "customers.view")


def test_conflict_declare__then_grants_respect_it(admin, make_user):
    services.conflict_declare(actor=admin, first="pii.reveal", second="customers.manage")
    rm = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    with pytest.raises(SegregationOfDutiesConflict):
        services.grant_create(
            actor=admin, user=rm, role=Role.objects.get(code="compliance_officer")
        )
    assert PermissionConflict.objects.filter(first="customers.manage", second="pii.reveal").exists()


def test_conflict_declare__same_permission_twice_refused(admin):
    with pytest.raises(ValidationFailed):
        services.conflict_declare(actor=admin, first="pii.reveal", second="pii.reveal")
