"""`get_for_user` and `in_scope` return what is in scope, and only that row."""

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
def viewer(make_user, branch):
    admin = make_user(DefaultRole.ADMINISTRATOR, username="admin1")
    viewer = make_user(DefaultRole.CUSTOMER_SERVICE, username="viewer")
    services.grant_create(
        actor=admin, user=viewer, role=Role.objects.get(code="auditor"), scope="branch"
    )
    checks.forget(viewer)
    return viewer


def test_get_for_user__returns_the_row_in_scope(make_user, viewer):
    near = make_user(DefaultRole.CUSTOMER_SERVICE, username="near")
    make_user(DefaultRole.CUSTOMER_SERVICE, username="near2")

    row = scopes.get_for_user(User.objects.all(), user=viewer, pk=near.pk, permission="users.view")

    assert row == near
    assert row.username == "near"


def test_get_for_user__pk_as_text_and_the_permission_asked(make_user, viewer):
    near = make_user(DefaultRole.CUSTOMER_SERVICE, username="near")

    assert scopes.get_for_user(
        User.objects.all(), user=viewer, pk=str(near.pk), permission="users.view"
    ) == (near)
    with pytest.raises(NotFound):
        scopes.get_for_user(User.objects.all(), user=viewer, pk=near.pk, permission="ledger.post")


def test_get_for_user__other_branch_is_not_found(make_user, viewer):
    other = user_services.branch_ensure(actor=None, code="T02", name="第二分行")
    far = make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=other)

    with pytest.raises(NotFound):
        scopes.get_for_user(User.objects.all(), user=viewer, pk=far.pk, permission="users.view")
    assert scopes.in_scope(far, user=viewer, permission="users.view") is False


def test_scoped__filters_the_given_queryset(make_user, viewer):
    make_user(DefaultRole.CUSTOMER_SERVICE, username="near")

    names = scopes.scoped(
        User.objects.filter(username__startswith="n"), user=viewer, permission="users.view"
    ).values_list("username", flat=True)

    assert sorted(names) == ["near"]


def test_in_scope__the_row_itself(make_user, viewer):
    near = make_user(DefaultRole.CUSTOMER_SERVICE, username="near")

    assert scopes.in_scope(near, user=viewer, permission="users.view") is True
    assert scopes.in_scope(near, user=viewer, permission="ledger.post") is False


def test_get_for_user__out_of_scope_is_marked_as_a_refusal_missing_is_not(make_user, viewer):
    # both answer NotFound alike; only the existing row outside scope carries what refused it,
    # for the access.denied audit entry (cpms.access.refusals)
    from cpms.access.refusals import refusal_of

    other = user_services.branch_ensure(actor=None, code="T02", name="第二分行")
    far = make_user(DefaultRole.CUSTOMER_SERVICE, username="far", branch=other)
    with pytest.raises(NotFound) as outside:
        scopes.get_for_user(User.objects.all(), user=viewer, pk=far.pk, permission="users.view")
    with pytest.raises(NotFound) as missing:
        scopes.get_for_user(User.objects.all(), user=viewer, pk=999_999, permission="users.view")
    assert refusal_of(outside.value) == {
        "permission": "users.view",
        "scope": "out_of_scope",
        "object_type": "users.user",
        "object_id": far.pk,
    }
    assert refusal_of(missing.value) is None
    assert str(outside.value) == str(missing.value)
