"""Row scope: all, branch, assigned, self — and out of scope answers like missing."""

from __future__ import annotations

import pytest

from cpms.access import checks, scopes, services
from cpms.access.models import Role
from cpms.core.errors import NotFound
from cpms.users import services as user_services
from cpms.users.choices import Role as DefaultRole
from cpms.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_branch():
    return user_services.branch_ensure(actor=None, code="T02", name="第二分行")


def visible(user, permission="users.view"):
    return set(
        scopes.scoped(User.objects.all(), user=user, permission=permission).values_list(
            "username", flat=True
        )
    )


def test_scoped__all_scope_sees_everyone(make_user, other_branch):
    auditor = make_user(DefaultRole.AUDITOR, username="aud")
    make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=other_branch)
    assert visible(auditor) == {"aud", "far"}


def test_scoped__branch_scope_sees_own_branch_only(admin, make_user, branch, other_branch):
    near = make_user(DefaultRole.CUSTOMER_SERVICE, username="near")
    make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=other_branch)
    viewer = make_user(DefaultRole.CUSTOMER_SERVICE, username="viewer")
    services.grant_create(
        actor=admin, user=viewer, role=Role.objects.get(code="auditor"), scope="branch"
    )
    checks.forget(viewer)
    assert visible(viewer) == {"admin1", "near", "viewer"}
    assert near.branch == branch


def test_scoped__self_scope_sees_only_self(admin, make_user):
    viewer = make_user(DefaultRole.CUSTOMER_SERVICE, username="viewer")
    services.grant_create(
        actor=admin, user=viewer, role=Role.objects.get(code="auditor"), scope="self"
    )
    checks.forget(viewer)
    assert visible(viewer) == {"viewer"}


def test_scoped__no_permission_sees_nothing(make_user):
    rm = make_user(DefaultRole.RELATIONSHIP_MANAGER)
    assert visible(rm) == set()


def test_get_for_user__out_of_scope_is_not_found_like_missing(make_user, other_branch, admin):
    far = make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=other_branch)
    viewer = make_user(DefaultRole.CUSTOMER_SERVICE, username="viewer")
    services.grant_create(
        actor=admin, user=viewer, role=Role.objects.get(code="auditor"), scope="branch"
    )
    checks.forget(viewer)
    with pytest.raises(NotFound) as out_of_scope:
        scopes.get_for_user(User.objects.all(), user=viewer, pk=far.pk, permission="users.view")
    with pytest.raises(NotFound) as missing:
        scopes.get_for_user(User.objects.all(), user=viewer, pk=999_999, permission="users.view")
    assert out_of_scope.value.as_dict() == missing.value.as_dict()
    assert scopes.in_scope(viewer, user=viewer, permission="users.view")
    assert not scopes.in_scope(far, user=viewer, permission="users.view")


def test_scoped__inactive_user_has_no_scope(make_user):
    auditor = make_user(DefaultRole.AUDITOR)
    auditor.is_active = False
    assert visible(auditor) == set()


def test_scope_rule__unregistered_model_is_a_programming_error(make_user):
    from cpms.access.models import Role as RoleModel

    with pytest.raises(LookupError):
        scopes.scoped(RoleModel.objects.all(), user=make_user(), permission="users.view")
