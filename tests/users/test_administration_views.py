"""Console pages of staff administration (issue 11, item 6): who may open them, re-authentication
before every change, the one-time password shown once, totals and pages, no self-service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cpms.access import staff as access_staff
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.users.choices import Role
from cpms.users.models import User
from cpms.users.services import security
from cpms.users.sessions import mark_authenticated
from tests.users.conftest import actions_since, audit_mark

pytestmark = pytest.mark.django_db


def client_for(user, *, fresh: bool = True) -> Client:
    client = Client()
    client.force_login(user)
    if fresh:
        session = client.session
        mark_authenticated(session)
        session.save()
    return client


@pytest.fixture
def admin_client(admin) -> Client:
    return client_for(admin)


def test_pages__refused_without_the_permission(make_user):
    rm = make_user(Role.RELATIONSHIP_MANAGER, username="rm-v")
    other = make_user(Role.CUSTOMER_SERVICE, username="cs-v")
    client = client_for(rm)
    changes = AuditEntry.objects.exclude(action=AuditAction.ACCESS_DENIED)
    before = changes.count()
    assert client.get(reverse("staff:list")).status_code == 403
    assert client.get(reverse("staff:detail", args=[other.pk])).status_code == 403
    assert client.get(reverse("staff:create")).status_code == 403
    url = reverse("staff:action", args=[other.pk, "deactivate"])
    assert client.post(url, {"reason": "x"}).status_code == 403
    other.refresh_from_db()
    assert other.is_active and changes.count() == before


def test_auditor_reads_but_cannot_change(make_user):
    auditor = make_user(Role.AUDITOR, username="aud-v")
    other = make_user(Role.CUSTOMER_SERVICE, username="cs-w")
    client = client_for(auditor)
    assert client.get(reverse("staff:list")).status_code == 200
    page = client.get(reverse("staff:detail", args=[other.pk]))
    assert page.status_code == 200 and page.context["can_manage"] is False
    assert client.post(reverse("staff:detail", args=[other.pk]), {}).status_code == 403
    assert client.get(reverse("staff:action", args=[other.pk, "password-reset"])).status_code == 403


def test_unknown_or_service_account_is_404(admin_client):

    robot = access_staff.service_account_create(actor=None, username="robot")
    assert admin_client.get(reverse("staff:detail", args=[99999])).status_code == 404
    assert admin_client.get(reverse("staff:detail", args=[robot.pk])).status_code == 404
    url = reverse("staff:action", args=[robot.pk, "password-reset"])
    assert admin_client.post(url, {"reason": "x"}).status_code == 404
    assert admin_client.get(reverse("staff:action", args=[1, "promote"])).status_code == 404


def test_list__search_filters_totals_and_pages(admin_client, make_user, branch):
    for number in range(30):
        make_user(Role.CUSTOMER_SERVICE, username=f"cs-{number:02d}", display_name=f"客服{number}")
    make_user(Role.AUDITOR, username="aud-list", display_name="审计员甲")
    page = admin_client.get(reverse("staff:list"))
    assert page.context["total"] == 32  # 30 + auditor + the administrator
    content = page.content.decode()
    assert "1–25" in content and "32" in content
    second = admin_client.get(reverse("staff:list"), {"page": 2})
    assert len(second.context["page"].object_list) == 7
    found = admin_client.get(reverse("staff:list"), {"q": "审计员"})
    assert [m.username for m in found.context["page"].object_list] == ["aud-list"]
    by_role = admin_client.get(reverse("staff:list"), {"role": "auditor"})
    assert by_role.context["total"] == 1
    by_branch = admin_client.get(reverse("staff:list"), {"branch": branch.pk})
    assert by_branch.context["total"] == 32
    inactive = admin_client.get(reverse("staff:list"), {"active": "0"})
    assert inactive.context["total"] == 0
    bad = admin_client.get(reverse("staff:list"), {"page": "abc", "branch": "x"})
    assert bad.status_code == 200


def test_create__needs_reauthentication_then_shows_the_password_once(admin, make_user, branch):
    stale = client_for(admin, fresh=False)
    session = stale.session
    session["cpms_auth_at"] = 0
    session.save()
    response = stale.get(reverse("staff:create"))
    assert response.status_code == 302 and response["Location"].startswith("/users/reauth/")
    client = client_for(admin)
    form = client.get(reverse("staff:create")).content.decode()
    assert f'<option value="{branch.pk}">测试分行 (T01)</option>' in form
    mark = audit_mark()
    response = client.post(
        reverse("staff:create"),
        {
            "username": "zhang.san",
            "display_name": "张三",
            "branch": branch.pk,
            "roles": ["customer_service"],
            "reason": "new hire",
        },
    )
    assert response.status_code == 200
    assert "password" in response.context, response.context["form"].errors
    assert "no-store" in response["Cache-Control"]
    password = response.context["password"]
    user = User.objects.get(username="zhang.san")
    assert user.check_password(password) and user.password_change_required
    assert AuditAction.USER_CREATED in actions_since(mark)
    # the password is not shown again anywhere
    assert password not in client.get(reverse("staff:detail", args=[user.pk])).content.decode()


def test_create__bad_input_is_explained_and_changes_nothing(admin_client):
    before = User.objects.count()
    response = admin_client.post(
        reverse("staff:create"), {"username": "has space", "display_name": ""}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"username", "display_name"}
    assert User.objects.count() == before


def test_password_reset__wrong_reauthentication_changes_nothing(admin, make_user, enrol):
    secret = enrol(admin)
    target = make_user(Role.RELATIONSHIP_MANAGER, username="rm-reset")
    old_hash = target.password
    client = client_for(admin, fresh=False)
    session = client.session
    session["cpms_auth_at"] = 0
    session.save()
    url = reverse("staff:action", args=[target.pk, "password-reset"])
    response = client.post(url, {"reason": "forgot", "next": url})
    assert response.status_code == 302 and response["Location"].startswith("/users/reauth/")
    from cpms.users import mfa

    wrong = client.post(
        reverse("users:reauth"),
        {"password": "not-the-password", "code": mfa.totp_code(secret), "next": url},
    )
    assert wrong.status_code == 200
    assert client.post(url, {"reason": "forgot"}).status_code == 302  # still sent to reauth
    target.refresh_from_db()
    assert target.password == old_hash and not target.password_change_required
    assert not AuditEntry.objects.filter(action=AuditAction.PASSWORD_RESET).exists()


def test_actions__deactivate_reactivate_reset(admin_client, make_user, enrol):
    target = make_user(Role.FINANCE_OFFICER, username="fin-act")
    enrol(target)
    base = ("staff:action",)
    response = admin_client.post(reverse(*base, args=[target.pk, "mfa-reset"]), {"reason": "r"})
    assert response.status_code == 302 and security.mfa_device(target) is None
    # the same administrator may not also reset the password (two keys to one account)
    refused = admin_client.post(reverse(*base, args=[target.pk, "password-reset"]), {"reason": "r"})
    assert refused.status_code == 403
    target.refresh_from_db()
    assert not target.password_change_required
    second = client_for(make_user(Role.ADMINISTRATOR, username="admin-two"))
    response = second.post(reverse(*base, args=[target.pk, "password-reset"]), {"reason": "r"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    target.refresh_from_db()
    assert target.check_password(response.context["password"])
    admin_client.post(reverse(*base, args=[target.pk, "deactivate"]), {"reason": "left"})
    target.refresh_from_db()
    assert target.is_active is False
    response = admin_client.post(reverse(*base, args=[target.pk, "reason-less"]), {})
    assert response.status_code == 404
    response = admin_client.post(reverse(*base, args=[target.pk, "reactivate"]), {})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    admin_client.post(reverse(*base, args=[target.pk, "reactivate"]), {"reason": "back"})
    target.refresh_from_db()
    assert target.is_active is True


def test_actions__not_on_oneself(admin, admin_client, enrol):
    enrol(admin)
    for action in ("deactivate", "password-reset", "mfa-reset"):
        url = reverse("staff:action", args=[admin.pk, action])
        assert admin_client.post(url, {"reason": "me"}).status_code == 403
    admin.refresh_from_db()
    assert admin.is_active and security.mfa_device(admin) is not None


def test_edit__branch_by_name_and_audited(admin_client, make_user, branch):
    from cpms.users import services

    other = services.branch_ensure(actor=None, code="B2", name="北京分行")
    target = make_user(Role.CUSTOMER_SERVICE, username="cs-edit")
    response = admin_client.post(
        reverse("staff:detail", args=[target.pk]),
        {"display_name": "李四", "email": "li@example.com", "branch": other.pk},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.display_name, target.branch) == ("李四", other)
    assert AuditEntry.objects.filter(action=AuditAction.USER_UPDATED).exists()


def test_create__without_roles_manage_offers_no_roles(make_user, branch):
    from cpms.access import services as access_services
    from cpms.access.models import Role as AccessRole

    people = access_services.role_create(
        actor=None, code="people_admin", name="People admin", permissions=["users.manage"]
    )
    clerk = make_user(Role.CUSTOMER_SERVICE, username="hr-clerk")
    access_services.grant_create(actor=None, user=clerk, role=people)
    client = client_for(clerk)
    assert "roles" not in client.get(reverse("staff:create")).context["form"].fields
    response = client.post(
        reverse("staff:create"),
        {
            "username": "via-hr",
            "display_name": "人事新人",
            "branch": branch.pk,
            "roles": [AccessRole.objects.get(code="administrator").code],
        },
    )
    assert response.status_code == 200 and "password" in response.context
    created = User.objects.get(username="via-hr")
    assert not created.grants.exists()
