"""Idle session expiry, re-authentication before sensitive actions, password change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import ValidationFailed
from cpms.users import mfa
from cpms.users.models import ApiToken
from cpms.users.services import security
from cpms.users.sessions import AUTH_AT
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark, frozen


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_idle_session__expires_after_30_minutes_and_is_audited(staff):
    # given
    client = signed_in("staff1")
    start = timezone.now()
    with frozen(start):
        assert client.get("/").status_code == 200
    mark = audit_mark()
    # when nothing happens for 31 minutes
    with frozen(start + timedelta(minutes=31)):
        response = client.get("/staff/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/staff/"
    assert actions_since(mark) == ["auth.session_expired"]
    assert AuditEntry.objects.get(pk__gt=mark).actor == staff
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_idle_session__activity_keeps_it_alive(staff):
    client = signed_in("staff1")
    start = timezone.now()
    for minutes in (0, 20, 40, 60):
        with frozen(start + timedelta(minutes=minutes)):
            assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_idle_session__passive_requests_do_not_count_as_activity(staff):
    client = signed_in("staff1")
    start = timezone.now()
    with frozen(start):
        client.get("/")
    with frozen(start + timedelta(minutes=20)):
        assert client.get("/dashboard/counts", HTTP_X_CPMS_PASSIVE="1").status_code == 200
    with frozen(start + timedelta(minutes=31)):
        assert client.get("/").status_code == 302


@pytest.mark.django_db
@override_settings(CPMS_SESSION_IDLE_MINUTES=5)
def test_idle_session__minutes_are_configurable(staff):
    client = signed_in("staff1")
    start = timezone.now()
    with frozen(start):
        client.get("/")
    with frozen(start + timedelta(minutes=6)):
        assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_reauth__stale_sign_in_is_sent_to_reauth_and_back(staff):
    # given a sign-in more than five minutes old
    client = signed_in("staff1")
    session = client.session
    session[AUTH_AT] = timezone.now().timestamp() - 6 * 60
    session.save()
    # when a sensitive action is attempted
    response = client.post(
        "/users/tokens/create/", {"next": "/users/tokens/", "scopes": ["*:read"]}
    )
    # then it goes to re-authentication, and nothing was created
    assert response.status_code == 302
    assert response["Location"] == "/users/reauth/?next=%2Fusers%2Ftokens%2F"
    assert ApiToken.objects.count() == 0
    # when the password is confirmed
    mark = audit_mark()
    response = client.post("/users/reauth/", {"password": PASSWORD, "next": "/users/tokens/"})
    # then the user is back and the action works
    assert response.status_code == 302
    assert response["Location"] == "/users/tokens/"
    assert actions_since(mark) == ["auth.reauthenticated"]
    created = client.post("/users/tokens/create/", {"scopes": ["customers:read"]})
    assert created.status_code == 200
    assert ApiToken.objects.get().scopes == ["customers:read"]


@pytest.mark.django_db
def test_reauth__wrong_password_is_refused_and_audited(staff):
    client = signed_in("staff1")
    mark = audit_mark()
    response = client.post("/users/reauth/", {"password": "wrong", "next": "/"})
    assert response.status_code == 200
    assert actions_since(mark) == ["auth.login_failed"]
    assert AuditEntry.objects.get(pk__gt=mark).after["step"] == "reauthentication"


@pytest.mark.django_db
def test_reauth__enrolled_user_also_needs_the_code(admin, enrol):
    secret = enrol(admin)
    without = security.reauthenticate(user=admin, password=PASSWORD, code="")
    assert without.outcome == "refused"
    mark = audit_mark()
    with_code = security.reauthenticate(user=admin, password=PASSWORD, code=mfa.totp_code(secret))
    assert with_code.outcome == "signed_in"
    assert actions_since(mark) == ["auth.reauthenticated"]


@pytest.mark.django_db
def test_reauth__redirect_target_must_be_on_this_site(staff):
    client = signed_in("staff1")
    response = client.post(
        "/users/reauth/", {"password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_password_change__policy_refuses_a_short_password(staff):
    mark = audit_mark()
    with pytest.raises(ValidationFailed) as error:
        security.password_change(actor=staff, user=staff, old=PASSWORD, new="short-1")
    assert "new" in error.value.fields
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_password_change__wrong_old_password_is_refused(staff):
    mark = audit_mark()
    with pytest.raises(ValidationFailed) as error:
        security.password_change(actor=staff, user=staff, old="nope", new="a-much-longer-pass-2026")
    assert list(error.value.fields) == ["old"]
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_password_change__console_shows_the_refusal_next_to_the_old_password(staff):
    client = signed_in("staff1")
    client.cookies["django_language"] = "en"
    new = "river-lantern-copper-88"
    response = client.post("/users/password/", {"old": "nope", "new": new, "confirm": new})
    assert response.status_code == 200
    assert response.context["form"].errors == {"old": ["The current password is not correct."]}
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


@pytest.mark.django_db
def test_password_change__console_changes_it_and_keeps_the_session(staff):
    client = signed_in("staff1")
    mark = audit_mark()
    new = "river-lantern-copper-88"
    response = client.post("/users/password/", {"old": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(new)
    assert staff.password.startswith("argon2")
    assert actions_since(mark) == ["auth.password_changed"]
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_account_page__opens_with_links(staff_client):
    content = staff_client.get("/users/account/").content.decode()
    assert 'href="/users/password/"' in content
    assert 'href="/users/mfa/enrol/"' in content
    assert 'href="/users/tokens/"' in content
