"""Password step: lockout per account, throttle per IP, one generic refusal, audit."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.users.models import AccountLock, LoginAttempt
from cpms.users.services import security
from cpms.users.services.security import LoginOutcome
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark

GENERIC = "请输入一个正确的用户名和密码"


def fail(username: str, times: int, *, ip: str = "10.0.0.1", now=None) -> None:
    for _ in range(times):
        result = security.login_attempt(username=username, password="wrong", ip=ip, now=now)
        assert result.outcome == LoginOutcome.REFUSED


@pytest.mark.django_db
def test_login_attempt__five_failures_within_15_minutes_lock_the_account(staff):
    # given
    mark = audit_mark()
    # when
    fail("staff1", 4)
    assert AccountLock.objects.count() == 0
    fail("staff1", 1)
    # then
    lock = AccountLock.objects.get()
    assert lock.user == staff
    assert lock.locked_until - lock.locked_at == timedelta(minutes=15)
    assert actions_since(mark) == ["auth.login_failed"] * 5 + ["auth.locked_out"]
    failed = AuditEntry.objects.filter(pk__gt=mark, action="auth.login_failed").first()
    assert failed.after == {"username": "staff1", "reason": "bad_credentials", "step": "password"}
    assert "wrong" not in str(list(AuditEntry.objects.filter(pk__gt=mark).values()))


@pytest.mark.django_db
def test_login_attempt__failures_spread_over_more_than_15_minutes_do_not_lock(staff):
    start = timezone.now()
    fail("staff1", 4, now=start)
    fail("staff1", 1, now=start + timedelta(minutes=16))
    assert AccountLock.objects.count() == 0


@pytest.mark.django_db
def test_login_attempt__locked_account_refuses_the_right_password(staff):
    # given
    fail("staff1", 5)
    mark = audit_mark()
    # when
    result = security.login_attempt(username="staff1", password=PASSWORD, ip="10.0.0.1")
    # then
    assert result.outcome == LoginOutcome.REFUSED
    assert actions_since(mark) == ["auth.login_failed"]
    assert AuditEntry.objects.get(pk__gt=mark).after["reason"] == "locked"


@pytest.mark.django_db
def test_sign_in__locked_account_gets_the_same_message_as_a_wrong_password(client, staff):
    # given
    fail("staff1", 5)
    # when
    locked = client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    unknown = Client().post("/accounts/login/", {"username": "nobody", "password": "x"})
    # then
    assert locked.status_code == 200
    assert GENERIC in locked.content.decode()
    assert GENERIC in unknown.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_attempt__lock_lifts_after_15_minutes(staff):
    start = timezone.now()
    fail("staff1", 5, now=start)
    still_locked = security.login_attempt(
        username="staff1", password=PASSWORD, now=start + timedelta(minutes=14)
    )
    assert still_locked.outcome == LoginOutcome.REFUSED
    later = security.login_attempt(
        username="staff1", password=PASSWORD, now=start + timedelta(minutes=15, seconds=1)
    )
    assert later.outcome == LoginOutcome.SIGNED_IN


@pytest.mark.django_db
def test_login_attempt__after_a_lock_ends_the_count_starts_again(staff):
    start = timezone.now()
    fail("staff1", 5, now=start)
    fail("staff1", 1, now=start + timedelta(minutes=16))
    assert AccountLock.objects.count() == 1


@pytest.mark.django_db
def test_account_unlock__by_an_administrator_in_the_console(staff, admin):
    # given
    fail("staff1", 5)
    client = Client()
    client.force_login(admin)
    mark = audit_mark()
    # when
    response = client.post(f"/users/security/{staff.pk}/unlock/")
    # then
    assert response.status_code == 302
    assert AccountLock.objects.get().lifted_by == admin
    assert actions_since(mark) == ["auth.unlocked"]
    assert security.login_attempt(username="staff1", password=PASSWORD).outcome == "signed_in"


@pytest.mark.django_db
def test_account_unlock__console_refuses_staff_without_permission(staff, make_user):
    # given
    fail("staff1", 5)
    other = make_user(username="colleague")
    client = Client()
    client.force_login(other)
    mark = audit_mark()
    # when
    response = client.post(f"/users/security/{staff.pk}/unlock/")
    # then
    assert response.status_code == 403
    assert AccountLock.objects.get().lifted_at is None
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_account_unlock__security_page_shows_the_lock_and_button(staff, admin):
    fail("staff1", 5)
    client = Client()
    client.force_login(admin)
    content = client.get("/users/security/").content.decode()
    assert f'action="/users/security/{staff.pk}/unlock/"' in content


@pytest.mark.django_db
def test_account_unlock__cli(staff):
    fail("staff1", 5)
    out = StringIO()
    call_command("users", "unlock", "staff1", stdout=out)
    assert out.getvalue().strip() == "Unlocked staff1."
    assert AccountLock.objects.get().lifted_at is not None
    entry = AuditEntry.objects.filter(action="auth.unlocked").get()
    assert entry.actor is None
    assert entry.object_id == str(staff.pk)


@pytest.mark.django_db
def test_account_unlock__cli_refuses_an_unlocked_account(staff):
    mark = audit_mark()
    with pytest.raises(CommandError, match=r"not locked|未被锁定|未锁定"):
        call_command("users", "unlock", "staff1")
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_login_attempt__ip_throttle_refuses_the_address_after_20_failures(staff):
    # given 20 failures from one address over several user names
    for number in range(20):
        fail(f"guess{number}", 1, ip="192.0.2.7")
    mark = audit_mark()
    # when
    throttled = security.login_attempt(username="staff1", password=PASSWORD, ip="192.0.2.7")
    elsewhere = security.login_attempt(username="staff1", password=PASSWORD, ip="192.0.2.8")
    # then
    assert throttled.outcome == LoginOutcome.THROTTLED
    assert elsewhere.outcome == LoginOutcome.SIGNED_IN
    assert actions_since(mark) == ["auth.login_failed", "auth.login_succeeded"]
    assert AuditEntry.objects.filter(pk__gt=mark).first().after["reason"] == "throttled"
    assert AccountLock.objects.count() == 0


@pytest.mark.django_db
def test_login_attempt__ip_throttle_lifts_after_15_minutes(staff):
    start = timezone.now()
    for number in range(20):
        fail(f"guess{number}", 1, ip="192.0.2.7", now=start)
    later = security.login_attempt(
        username="staff1", password=PASSWORD, ip="192.0.2.7", now=start + timedelta(minutes=16)
    )
    assert later.outcome == LoginOutcome.SIGNED_IN


@pytest.mark.django_db
def test_sign_in__throttled_address_sees_a_throttle_message(client, staff):
    for number in range(20):
        fail(f"guess{number}", 1, ip="127.0.0.1")
    response = client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_attempt__unknown_user_is_audited_with_the_name_only(db):
    mark = audit_mark()
    security.login_attempt(username="ghost", password="s3cret-guess", ip="10.0.0.9")
    entry = AuditEntry.objects.get(pk__gt=mark)
    assert entry.action == "auth.login_failed"
    assert entry.after == {"username": "ghost", "reason": "bad_credentials", "step": "password"}
    assert "s3cret-guess" not in str(entry.before) + str(entry.after) + entry.reason
    assert LoginAttempt.objects.get().user is None


@pytest.mark.django_db
def test_sign_in__success_is_audited_and_lands_on_the_dashboard(client, staff):
    mark = audit_mark()
    response = client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert actions_since(mark) == ["auth.login_succeeded"]
    entry = AuditEntry.objects.get(pk__gt=mark)
    assert entry.actor == staff
    assert entry.channel == "console"
    assert entry.ip == "127.0.0.1"


@pytest.mark.django_db
def test_sign_out__is_audited(client, staff):
    client.post("/accounts/login/", {"username": "staff1", "password": PASSWORD})
    mark = audit_mark()
    client.post("/accounts/logout/")
    assert actions_since(mark) == ["auth.logout"]
    assert "_auth_user_id" not in client.session
