"""TOTP two-factor: forced enrolment for privileged roles, verification, recovery codes,
replay protection, encrypted secret, administrator reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidTag
from django.test import Client
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import Conflict
from cpms.users import mfa
from cpms.users.choices import Role
from cpms.users.models import AccountLock, RecoveryCode, TotpDevice
from cpms.users.services import security
from cpms.users.services.security import LoginOutcome
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark


def password_step(client: Client, username: str):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [Role.ADMINISTRATOR, Role.FINANCE_OFFICER, Role.COMPLIANCE_OFFICER, Role.AUDITOR],
)
def test_sign_in__privileged_user_without_mfa_is_sent_to_enrolment(client, make_user, role):
    # given
    make_user(role, username="boss")
    mark = audit_mark()
    # when
    response = password_step(client, "boss")
    # then: not signed in, and nothing else is reachable
    assert response.status_code == 302
    assert response["Location"] == "/users/mfa/enrol/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    assert client.get("/users/account/")["Location"].startswith("/accounts/login/")
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_mfa_enrol__forced_enrolment_shows_qr_then_signs_in(client, admin):
    # given
    password_step(client, "admin1")
    # when the enrolment page opens
    page = client.get("/users/mfa/enrol/")
    content = page.content.decode()
    # then it shows an SVG QR code inline as a data URI and the key for manual entry
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in content
    secret = mfa.secret_decrypt(TotpDevice.objects.get().secret_encrypted, user_id=admin.pk)
    assert secret in content
    assert "<script" not in content.split("</head>")[1]
    assert TotpDevice.objects.get().confirmed_at is None
    # when a wrong code is entered, nothing is activated
    client.post(
        "/users/mfa/enrol/", {"code": "000000" if mfa.totp_code(secret) != "000000" else "111111"}
    )
    assert TotpDevice.objects.get().confirmed_at is None
    assert "_auth_user_id" not in client.session
    # when the right code is entered
    mark = audit_mark()
    response = client.post("/users/mfa/enrol/", {"code": mfa.totp_code(secret)})
    # then the recovery codes are shown once and the user is signed in
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=admin).count() == 10
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert not stored & set(codes)
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert actions_since(mark) == ["auth.mfa_enrolled", "auth.login_succeeded"]
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_mfa_enrol__voluntary_for_a_non_privileged_user(staff_client, staff):
    staff_client.get("/users/mfa/enrol/")
    secret = mfa.secret_decrypt(TotpDevice.objects.get().secret_encrypted, user_id=staff.pk)
    mark = audit_mark()
    response = staff_client.post("/users/mfa/enrol/", {"code": mfa.totp_code(secret)})
    assert response.status_code == 200
    assert actions_since(mark) == ["auth.mfa_enrolled"]
    assert TotpDevice.objects.get().confirmed_at is not None


@pytest.mark.django_db
def test_mfa_enrol__wrong_code_is_shown_next_to_the_code(staff_client, staff):
    staff_client.cookies["django_language"] = "en"
    staff_client.get("/users/mfa/enrol/")
    secret = mfa.secret_decrypt(TotpDevice.objects.get().secret_encrypted, user_id=staff.pk)
    wrong = f"{(int(mfa.totp_code(secret)) + 500_000) % 1_000_000:06d}"
    response = staff_client.post("/users/mfa/enrol/", {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["The code is not correct. Check the time on your device."]
    }
    assert TotpDevice.objects.get().confirmed_at is None


@pytest.mark.django_db
def test_mfa_enrol__refusal_without_a_field_is_shown_on_the_code(staff_client, monkeypatch):
    def already_enrolled(**kwargs):
        raise Conflict("Two-factor sign-in is already active for this account.")

    staff_client.get("/users/mfa/enrol/")
    monkeypatch.setattr(security, "mfa_enrolment_confirm", already_enrolled)
    response = staff_client.post("/users/mfa/enrol/", {"code": "123456"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "code": ["Two-factor sign-in is already active for this account."]
    }


@pytest.mark.django_db
def test_sign_in__enrolled_user_must_pass_the_code_step(client, admin, enrol):
    # given
    secret = enrol(admin)
    # when
    response = password_step(client, "admin1")
    # then
    assert response["Location"] == "/users/mfa/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    # when the right code follows
    mark = audit_mark()
    response = client.post("/users/mfa/verify/", {"code": mfa.totp_code(secret)})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert actions_since(mark) == ["auth.login_succeeded"]
    assert AuditEntry.objects.get(pk__gt=mark).after == {
        "username": "admin1",
        "second_factor": "totp",
    }


@pytest.mark.django_db
def test_sign_in__wrong_code_is_refused_and_audited(client, admin, enrol):
    # given
    secret = enrol(admin)
    password_step(client, "admin1")
    wrong = "123456" if mfa.totp_code(secret) != "123456" else "654321"
    mark = audit_mark()
    # when
    response = client.post("/users/mfa/verify/", {"code": wrong})
    # then
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert actions_since(mark) == ["auth.mfa_failed"]
    entry = AuditEntry.objects.get(pk__gt=mark)
    assert entry.object_id == str(admin.pk)
    assert wrong not in str(entry.after)


@pytest.mark.django_db
def test_login_second_factor__five_wrong_codes_lock_the_account(admin, enrol):
    enrol(admin)
    for _ in range(5):
        result = security.login_second_factor(user_id=admin.pk, code="000000")
        assert result.outcome == LoginOutcome.REFUSED
    assert AccountLock.objects.filter(user=admin).count() == 1


@pytest.mark.django_db
def test_login_second_factor__replayed_code_is_refused(admin, enrol):
    # given
    secret = enrol(admin)
    now = timezone.now()
    code = mfa.totp_code(secret, at=now.timestamp())
    assert security.login_second_factor(user_id=admin.pk, code=code, now=now).outcome == (
        LoginOutcome.SIGNED_IN
    )
    mark = audit_mark()
    # when the same code is presented again within its validity
    again = security.login_second_factor(
        user_id=admin.pk, code=code, now=now + timedelta(seconds=5)
    )
    # then
    assert again.outcome == LoginOutcome.REFUSED
    assert actions_since(mark) == ["auth.mfa_failed"]


@pytest.mark.django_db
def test_login_second_factor__recovery_code_works_once(admin, enrol):
    # given
    enrol(admin)
    code = security.recovery_codes_regenerate(actor=admin, user=admin)[3]
    mark = audit_mark()
    # when
    first = security.login_second_factor(user_id=admin.pk, code=code.upper().replace("-", " "))
    second = security.login_second_factor(user_id=admin.pk, code=code)
    # then
    assert first.outcome == LoginOutcome.SIGNED_IN
    assert first.second_factor == "recovery_code"
    assert second.outcome == LoginOutcome.REFUSED
    assert actions_since(mark) == [
        "auth.recovery_code_used",
        "auth.login_succeeded",
        "auth.mfa_failed",
    ]
    assert RecoveryCode.objects.filter(user=admin, used_at__isnull=True).count() == 9


@pytest.mark.django_db
def test_recovery_codes_regenerate__old_codes_stop_working(admin, enrol, client):
    # given
    enrol(admin)
    old = security.recovery_codes_regenerate(actor=admin, user=admin)
    mark = audit_mark()
    # when
    new = security.recovery_codes_regenerate(actor=admin, user=admin)
    # then
    assert actions_since(mark) == ["auth.recovery_codes_regenerated"]
    assert set(old).isdisjoint(new)
    refused = security.login_second_factor(user_id=admin.pk, code=old[0])
    assert refused.outcome == LoginOutcome.REFUSED


@pytest.mark.django_db
def test_totp_secret__is_stored_encrypted_and_bound_to_its_user(admin, make_user, enrol):
    secret = enrol(admin)
    blob = bytes(TotpDevice.objects.get(user=admin).secret_encrypted)
    assert secret.encode() not in blob
    assert mfa.secret_decrypt(blob, user_id=admin.pk) == secret
    with pytest.raises(InvalidTag):
        mfa.secret_decrypt(blob, user_id=admin.pk + 1)


@pytest.mark.django_db
def test_mfa_reset__by_an_administrator(admin, make_user, enrol):
    # given
    officer = make_user(Role.FINANCE_OFFICER, username="fin")
    enrol(officer)
    mark = audit_mark()
    # when
    security.mfa_reset(actor=admin, user=officer, reason="lost phone")
    # then
    assert TotpDevice.objects.filter(user=officer).count() == 0
    assert RecoveryCode.objects.filter(user=officer).count() == 0
    assert actions_since(mark) == ["auth.mfa_disabled"]
    assert AuditEntry.objects.get(pk__gt=mark).reason == "lost phone"
    # and the next sign-in asks for enrolment again
    assert security.login_attempt(username="fin", password=PASSWORD).outcome == (
        LoginOutcome.ENROLMENT_REQUIRED
    )


@pytest.mark.django_db
def test_mfa_reset__refused_without_users_manage(make_user, enrol):
    from cpms.core.errors import PermissionDenied

    officer = make_user(Role.FINANCE_OFFICER, username="fin")
    colleague = make_user(Role.FINANCE_OFFICER, username="fin2")
    enrol(officer)
    mark = audit_mark()
    with pytest.raises(PermissionDenied):
        security.mfa_reset(actor=colleague, user=officer)
    assert TotpDevice.objects.filter(user=officer, confirmed_at__isnull=False).count() == 1
    assert actions_since(mark) == []
