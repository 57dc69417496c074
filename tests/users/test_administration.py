"""Staff administration without the command line (issue 11, item 6): the services behind the
console pages. Each change writes its audit entry in its own transaction; refusals change
nothing; nobody administers themselves."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client

from cpms.access import staff as access_staff
from cpms.access.models import Role as AccessRole
from cpms.approvals.models import ApprovalRequest
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.users import services
from cpms.users.choices import Role
from cpms.users.models import User
from cpms.users.services import security
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark


@pytest.fixture
def other_branch(db):
    return services.branch_ensure(actor=None, code="T02", name="北京分行", city="北京")


def test_staff_create__one_time_password_audit_and_grant_request(admin, branch):
    mark = audit_mark()
    created = access_staff.staff_create(
        actor=admin,
        username="newrm",
        display_name="新客户经理",
        branch=branch,
        roles=[AccessRole.objects.get(code=Role.RELATIONSHIP_MANAGER)],
        email="newrm@example.com",
        reason="joined",
    )
    user = User.objects.get(username="newrm")
    assert user.check_password(created.password)
    assert user.password_change_required and user.is_staff and user.branch == branch
    # the role goes through maker-checker like any grant (the default policy needs a checker)
    assert created.granted == []
    request = ApprovalRequest.objects.get()
    assert request.payload["role"] == Role.RELATIONSHIP_MANAGER and request.maker == admin
    assert actions_since(mark)[0] == AuditAction.USER_CREATED
    entry = AuditEntry.objects.get(pk__gt=mark, action=AuditAction.USER_CREATED)
    assert entry.actor_id == admin.pk and created.password not in str(entry.after)


def test_staff_create__refusals_change_nothing(admin, make_user, branch):
    make_user(Role.CUSTOMER_SERVICE, username="taken")
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-x")
    before = (User.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())
    with pytest.raises(ValidationFailed) as caught:
        access_staff.staff_create(actor=admin, username="TAKEN", display_name="x", branch=branch)
    assert "username" in caught.value.fields
    with pytest.raises(PermissionDenied):
        access_staff.staff_create(actor=rm, username="new2", display_name="x", branch=branch)
    # a failure after the user row was written (the grant) rolls everything back
    with (
        mock.patch(
            "cpms.access.services.grant_request", side_effect=ValidationFailed(fields={"x": "no"})
        ),
        pytest.raises(ValidationFailed),
    ):
        access_staff.staff_create(
            actor=admin,
            username="new3",
            display_name="x",
            branch=branch,
            roles=[AccessRole.objects.get(code=Role.AUDITOR)],
        )
    assert (
        User.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_staff_update__audited_with_before_and_after(admin, make_user, branch, other_branch):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-u", display_name="旧名")
    mark = audit_mark()
    services.staff_update(actor=admin, user=rm, display_name="新名", branch=other_branch)
    rm.refresh_from_db()
    assert (rm.display_name, rm.branch) == ("新名", other_branch)
    entry = AuditEntry.objects.get(pk__gt=mark)
    assert entry.action == AuditAction.USER_UPDATED
    assert entry.before["branch"] == "T01" and entry.after["branch"] == "T02"


def test_deactivate_and_reactivate__audited(admin, make_user):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-d")
    mark = audit_mark()
    services.staff_deactivate(actor=admin, user=rm, reason="left")
    rm.refresh_from_db()
    assert rm.is_active is False
    assert security.login_attempt(username="rm-d", password=PASSWORD).user is None
    services.staff_reactivate(actor=admin, user=rm, reason="back")
    rm.refresh_from_db()
    assert rm.is_active is True
    assert [a for a in actions_since(mark)] == [
        AuditAction.USER_DEACTIVATED,
        AuditAction.LOGIN_FAILED,
        AuditAction.USER_REACTIVATED,
    ]


def test_no_self_administration(admin, enrol):
    enrol(admin)
    before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PermissionDenied):
        services.staff_deactivate(actor=admin, user=admin)
    with pytest.raises(PermissionDenied):
        security.password_reset(actor=admin, user=admin)
    with pytest.raises(PermissionDenied):
        security.mfa_reset(actor=admin, user=admin)
    admin.refresh_from_db()
    assert admin.is_active and security.mfa_device(admin) is not None
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_non_administrator_is_refused(make_user):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-a")
    other = make_user(Role.CUSTOMER_SERVICE, username="cs-a")
    before = AuditEntry.objects.exclude(action="access.denied").count()
    for call in (
        lambda: services.staff_deactivate(actor=rm, user=other),
        lambda: services.staff_reactivate(actor=rm, user=other),
        lambda: security.password_reset(actor=rm, user=other),
        lambda: services.staff_update(actor=rm, user=other, display_name="x", branch=None),
    ):
        with pytest.raises(PermissionDenied):
            call()
    other.refresh_from_db()
    assert other.is_active and AuditEntry.objects.exclude(action="access.denied").count() == before


def test_branch_scoped_administrator_reaches_only_their_branch(
    admin, make_user, branch, other_branch
):
    from cpms.access import services as access_services

    local = make_user(Role.CUSTOMER_SERVICE, username="local-admin")
    role = access_services.role_create(
        actor=None, code="branch_admin", name="Branch admin", permissions=["users.manage"]
    )
    access_services.grant_create(actor=None, user=local, role=role, scope="branch", branch=branch)
    far = make_user(Role.CUSTOMER_SERVICE, username="far", branch=other_branch)
    near = make_user(Role.CUSTOMER_SERVICE, username="near", branch=branch)
    with pytest.raises(NotFound):
        services.staff_deactivate(actor=local, user=far)
    services.staff_deactivate(actor=local, user=near)
    far.refresh_from_db()
    assert far.is_active


def test_password_reset__one_time_password_must_be_changed(admin, make_user):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-p")
    mark = audit_mark()
    password = security.password_reset(actor=admin, user=rm, reason="forgot")
    rm.refresh_from_db()
    assert rm.check_password(password) and not rm.check_password(PASSWORD)
    assert rm.password_change_required
    entry = AuditEntry.objects.get(pk__gt=mark)
    assert (entry.action, entry.actor_id, entry.reason) == (
        AuditAction.PASSWORD_RESET,
        admin.pk,
        "forgot",
    )
    assert password not in str(entry.after)
    # the console lets them do nothing but choose a password
    client = Client()
    client.force_login(rm)
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"] == "/users/password/"
    new = "a-fresh-passphrase-2026"
    response = client.post(
        "/users/password/", {"old": password, "new": new, "confirm": new}, follow=False
    )
    assert response.status_code == 302
    rm.refresh_from_db()
    assert not rm.password_change_required and rm.check_password(new)
    assert client.get("/users/account/").status_code == 200


def test_mfa_reset__of_another_person_is_audited(admin, make_user, enrol):
    officer = make_user(Role.FINANCE_OFFICER, username="fin-m")
    enrol(officer)
    mark = audit_mark()
    security.mfa_reset(actor=admin, user=officer, reason="lost phone")
    assert security.mfa_device(officer) is None
    assert actions_since(mark) == [AuditAction.MFA_DISABLED]


@pytest.mark.parametrize("first", ["password", "mfa"])
def test_one_administrator_cannot_reset_both_password_and_two_factor(
    admin, make_user, enrol, first
):
    # together the two resets would let one administrator sign in as the officer
    officer = make_user(Role.FINANCE_OFFICER, username="fin-k")
    enrol(officer)
    second_admin = make_user(Role.ADMINISTRATOR, username="admin-second")
    if first == "password":
        security.password_reset(actor=admin, user=officer, reason="forgot")
    else:
        security.mfa_reset(actor=admin, user=officer, reason="lost phone")
    officer.refresh_from_db()
    before = (officer.password, security.mfa_device(officer) is None)
    mark = audit_mark()
    with pytest.raises(PermissionDenied) as refused:
        if first == "password":
            security.mfa_reset(actor=admin, user=officer, reason="and the phone")
        else:
            security.password_reset(actor=admin, user=officer, reason="and the password")
    assert refused.value.code == "users.two_key_rule"
    officer.refresh_from_db()
    assert (officer.password, security.mfa_device(officer) is None) == before
    assert actions_since(mark) == []
    # a second administrator may do the other half
    if first == "password":
        security.mfa_reset(actor=second_admin, user=officer, reason="lost phone too")
        assert security.mfa_device(officer) is None
    else:
        assert security.password_reset(actor=second_admin, user=officer, reason="forgot too")


def test_cli_commands_call_the_same_services(make_user, capsys):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-cli")
    mark = audit_mark()
    call_command("users", "deactivate", "rm-cli", "--reason", "left")
    call_command("users", "reactivate", "rm-cli")
    call_command("users", "reset-password", "rm-cli")
    out = capsys.readouterr().out
    rm.refresh_from_db()
    password = out.strip().splitlines()[-1]
    assert rm.is_active and rm.password_change_required and rm.check_password(password)
    assert actions_since(mark) == [
        AuditAction.USER_DEACTIVATED,
        AuditAction.USER_REACTIVATED,
        AuditAction.PASSWORD_RESET,
    ]
    channels = set(
        AuditEntry.objects.filter(pk__gt=mark).values_list("actor_id", flat=True).distinct()
    )
    assert channels == {None}
