"""`cpms.access.checks`: which grants count, the per-user cache, and the permission questions
asked of them. Expected grants are read from the Grant rows, not through the code under test;
the questions are asked of users whose grants are given by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone, translation

from cpms.access import checks, services
from cpms.access.checks import GrantView
from cpms.access.models import Grant, Role
from cpms.core.errors import PermissionDenied
from cpms.users.choices import Role as DefaultRole


@dataclass
class FakeUser:
    """A signed-in, active user whose grants are already loaded."""

    grants: tuple[GrantView, ...] = ()
    pk: int = 7
    is_authenticated: bool = True
    is_active: bool = True
    _cpms_grants: tuple[GrantView, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._cpms_grants = self.grants


VIEW = GrantView("auditor", frozenset({"users.view", "audit.view"}), "all", None)
BRANCH = GrantView("officer", frozenset({"users.view", "customers.view"}), "branch", 3)
ASSIGNED = GrantView("rm", frozenset({"customers.view"}), "assigned", None)


def expected_grants(user) -> set[GrantView]:
    rows = Grant.objects.filter(user=user, revoked_at__isnull=True, role__is_active=True)
    return {
        GrantView(
            role=row.role.code,
            permissions=frozenset(row.role.permissions.values_list("code", flat=True)),
            scope=row.scope,
            branch_id=row.branch_id,
        )
        for row in rows
    }


# active_grants with the database ---------------------------------------------------------------


@pytest.mark.django_db
def test_active_grants__loaded_from_the_grant_rows(make_user, branch):
    user = make_user(DefaultRole.AUDITOR)

    grants = checks.active_grants(user)

    assert set(grants) == expected_grants(user)
    assert len(grants) == 1
    assert grants[0].role == "auditor"
    assert "audit.view" in grants[0].permissions


@pytest.mark.django_db
def test_active_grants__cached_on_the_user_until_forgotten(make_user, django_assert_num_queries):
    user = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    first = checks.active_grants(user)
    with django_assert_num_queries(0):
        assert checks.active_grants(user) is first
    Role.objects.filter(code="relationship_manager").update(is_active=False)

    assert checks.active_grants(user) is first
    checks.forget(user)
    assert checks.active_grants(user) == ()


@pytest.mark.django_db
def test_active_grants__every_active_grant_in_two_queries(
    make_user, branch, django_assert_num_queries
):
    admin = make_user(DefaultRole.ADMINISTRATOR, username="admin-x")
    user = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    services.grant_create(
        actor=admin, user=user, role=Role.objects.get(code="auditor"), scope="branch", branch=branch
    )
    checks.forget(user)

    with django_assert_num_queries(2):  # the grants with their roles, then the permissions
        grants = checks.active_grants(user)

    assert set(grants) == expected_grants(user)
    assert {(grant.role, grant.scope, grant.branch_id) for grant in grants} == {
        ("relationship_manager", "assigned", None),
        ("auditor", "branch", branch.pk),
    }


@pytest.mark.django_db
def test_active_grants__revoked_grants_and_inactive_roles_do_not_count(make_user):
    admin = make_user(DefaultRole.ADMINISTRATOR, username="admin-x")
    user = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    auditor = Role.objects.get(code="auditor")
    grant = services.grant_create(actor=admin, user=user, role=auditor, scope="all")
    services.grant_revoke(actor=admin, grant=grant, reason="test")
    checks.forget(user)
    assert {g.role for g in checks.active_grants(user)} == {"relationship_manager"}

    Role.objects.filter(code="relationship_manager").update(is_active=False)
    checks.forget(user)
    assert checks.active_grants(user) == ()
    assert Grant.objects.filter(user=user, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_active_grants__inactive_or_anonymous_users_have_none(make_user):
    user = make_user(DefaultRole.AUDITOR)
    user.is_active = False
    assert checks.active_grants(user) == ()
    assert not hasattr(user, "_cpms_grants")
    assert checks.active_grants(AnonymousUser()) == ()
    assert checks.active_grants(None) == ()


@pytest.mark.django_db
def test_active_grants__a_revoked_at_in_the_future_is_still_revoked(make_user):
    user = make_user(DefaultRole.AUDITOR)
    Grant.objects.filter(user=user).update(revoked_at=timezone.now())
    checks.forget(user)

    assert checks.active_grants(user) == ()


# questions about loaded grants -----------------------------------------------------------------


def test_active_grants__users_that_are_not_signed_in_or_active_get_nothing():
    assert checks.active_grants(FakeUser((VIEW,), is_authenticated=False)) == ()
    assert checks.active_grants(FakeUser((VIEW,), is_active=False)) == ()

    class NoFlag:
        is_active = True
        _cpms_grants = (VIEW,)

    assert checks.active_grants(NoFlag()) == ()
    assert checks.active_grants(FakeUser((VIEW,))) == (VIEW,)


def test_forget__drops_only_the_cache():
    user = FakeUser((VIEW,))
    checks.forget(user)
    assert not hasattr(user, "_cpms_grants")
    assert user.pk == 7
    checks.forget(user)  # nothing cached: no error


def test_permission_codes__union_of_every_grant():
    assert checks.permission_codes(FakeUser((VIEW, BRANCH))) == frozenset(
        {"users.view", "audit.view", "customers.view"}
    )
    assert checks.permission_codes(FakeUser()) == frozenset()
    assert checks.permission_codes(None) == frozenset()


@pytest.mark.parametrize(
    ("grants", "code", "held"),
    [
        ((VIEW,), "users.view", True),
        ((VIEW,), "customers.view", False),
        ((VIEW, ASSIGNED), "customers.view", True),
        ((ASSIGNED, VIEW), "audit.view", True),
        ((), "users.view", False),
    ],
)
def test_user_has_permission__any_grant(grants, code, held):
    assert checks.user_has_permission(FakeUser(grants), code) is held


def test_user_has_permission__unknown_code_is_a_programming_error():
    with pytest.raises(ValueError) as raised:
        checks.user_has_permission(FakeUser((VIEW,)), "users.fly")

    assert str(raised.value) == "unknown permission 'users.fly': add it to core.permissions"


def test_require_permission__passes_or_names_the_permission():
    assert checks.require_permission(FakeUser((VIEW,)), "users.view") is None
    with pytest.raises(PermissionDenied) as raised, translation.override("en"):
        checks.require_permission(FakeUser((VIEW,)), "customers.view")

    with translation.override("en"):
        from cpms.core.permissions import BY_CODE

        label = str(BY_CODE["customers.view"].label)
        assert raised.value.message == f"You do not have the permission “{label}”."
    assert raised.value.code == "permission_denied"
    from cpms.access.refusals import refusal_of

    # what refused travels with the error, for the access.denied audit entry
    assert refusal_of(raised.value) == {"permission": "customers.view"}


def test_require_permission__unknown_code_is_a_programming_error():
    with pytest.raises(ValueError):
        checks.require_permission(FakeUser((VIEW,)), "users.fly")


def test_permission_scopes__scope_and_branch_of_each_grant_holding_the_code():
    user = FakeUser((VIEW, BRANCH, ASSIGNED))

    assert checks.permission_scopes(user, "users.view") == [("all", None), ("branch", 3)]
    assert checks.permission_scopes(user, "customers.view") == [("branch", 3), ("assigned", None)]
    assert checks.permission_scopes(user, "audit.view") == [("all", None)]
    assert checks.permission_scopes(user, "ledger.post") == []
    with pytest.raises(ValueError):
        checks.permission_scopes(user, "users.fly")


def test_has_scope_all__only_through_a_grant_holding_the_code():
    user = FakeUser((VIEW, BRANCH))

    assert checks.has_scope_all(user, "users.view") is True
    assert checks.has_scope_all(user, "customers.view") is False
    assert checks.has_scope_all(FakeUser((BRANCH, VIEW)), "audit.view") is True
    assert checks.has_scope_all(FakeUser(), "users.view") is False


def test_role_codes__the_users_active_roles_sorted_for_the_audit_entry(make_user):
    user = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    services.grant_create(actor=None, user=user, role=services.role_get(DefaultRole.AUDITOR))
    checks.forget(user)
    assert checks.role_codes(user) == "auditor,relationship_manager"
    assert checks.role_codes(AnonymousUser()) == ""
