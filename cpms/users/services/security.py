"""Writes for sign-in security: password step with lockout and IP throttle, TOTP second factor,
recovery codes, re-authentication, password change, sign-out and session expiry records.

These are services (split from `services.py` by size): each public function owns its
transaction and writes its audit entries inside it. Refusals that must leave a trace (a failed
attempt, a lockout) return an outcome instead of raising, so that trace is committed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.authz import require_permission
from cpms.core.errors import Conflict
from cpms.core.locks import lock_rows
from cpms.users import mfa
from cpms.users.choices import Role
from cpms.users.models import AccountLock, LoginAttempt, RecoveryCode, TotpDevice, User
from cpms.users.services import accounts
from cpms.users.services.accounts import mfa_device  # noqa: F401 (re-exported)

# credentials, re-exported: the views and the CLI use one module for a person's security
from cpms.users.services.credentials import (  # noqa: F401
    TWO_KEY_WINDOW,
    Enrolment,
    mfa_enrolment_begin,
    mfa_enrolment_confirm,
    mfa_reset,
    password_change,
    password_reset,
    recovery_codes_regenerate,
)

LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
IP_THRESHOLD = 20
IP_WINDOW = timedelta(minutes=15)
PRIVILEGED_ROLES: frozenset[str] = frozenset(
    {
        Role.ADMINISTRATOR.value,
        Role.FINANCE_OFFICER.value,
        Role.COMPLIANCE_OFFICER.value,
        Role.AUDITOR.value,
    }
)
_FAILURES = (LoginAttempt.Outcome.BAD_CREDENTIALS, LoginAttempt.Outcome.MFA_FAILED)
_IP_FAILURES = (*_FAILURES, LoginAttempt.Outcome.LOCKED)


class LoginOutcome(enum.StrEnum):
    SIGNED_IN = "signed_in"  # password accepted, no second factor needed
    MFA_REQUIRED = "mfa_required"  # password accepted, enrolled: ask for the code
    ENROLMENT_REQUIRED = "enrolment_required"  # password accepted, privileged, not enrolled
    REFUSED = "refused"  # wrong user name or password, inactive, or locked (one message)
    THROTTLED = "throttled"  # too many failures from this IP address


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    second_factor: str = ""  # "totp" or "recovery_code" after a second-factor step


# ---------------------------------------------------------------- reads used by the writes


def user_is_privileged(user: User) -> bool:
    """Roles that must use two-factor sign-in (administrator, finance, compliance, auditor)."""
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=PRIVILEGED_ROLES).exists()


def account_active_lock(user: User, *, now: datetime | None = None) -> AccountLock | None:
    now = now or timezone.now()
    return (
        AccountLock.objects.filter(user=user, lifted_at__isnull=True, locked_until__gt=now)
        .order_by("-locked_until")
        .first()
    )


def ip_is_throttled(ip: str, *, now: datetime | None = None) -> bool:
    if not ip:
        return False
    now = now or timezone.now()
    failures = LoginAttempt.objects.filter(
        ip=ip, outcome__in=_IP_FAILURES, created_at__gt=now - IP_WINDOW
    ).count()
    return failures >= IP_THRESHOLD


def _failure_window_start(user: User, now: datetime) -> datetime:
    """Failures count from the latest of: 15 minutes ago, the last success, the end of the
    last lock (so a lock lifted by time or by an administrator starts a fresh count)."""
    start = now - LOCKOUT_WINDOW
    last_success = LoginAttempt.objects.filter(
        user=user, outcome=LoginAttempt.Outcome.SUCCEEDED, created_at__lte=now
    ).aggregate(at=Max("created_at"))["at"]
    if last_success and last_success > start:
        start = last_success
    for lock in AccountLock.objects.filter(user=user, locked_at__lte=now).order_by("-locked_at")[
        :1
    ]:
        if lock.ends_at() > start:
            start = min(lock.ends_at(), now)
    return start


# ---------------------------------------------------------------- internal writes


def _attempt(
    *, username: str, user: User | None, ip: str, outcome: str, now: datetime
) -> LoginAttempt:
    return LoginAttempt.objects.create(
        username=username[:150], user=user, ip=ip[:45], outcome=outcome, created_at=now
    )


def _failed(
    *, username: str, user: User | None, ip: str, outcome: str, now: datetime, step: str
) -> None:
    """Record a failed attempt and its audit entry; lock the account at the threshold."""
    _attempt(username=username, user=user, ip=ip, outcome=outcome, now=now)
    action = (
        AuditAction.MFA_FAILED
        if outcome == LoginAttempt.Outcome.MFA_FAILED
        else AuditAction.LOGIN_FAILED
    )
    audit_record(
        actor=None,
        action=action,
        object_type="user",
        object_id=user.pk if user else "",
        after={"username": username[:150], "reason": str(outcome), "step": step},
    )
    if user is None or outcome not in _FAILURES:
        return
    failures = LoginAttempt.objects.filter(
        user=user, outcome__in=_FAILURES, created_at__gt=_failure_window_start(user, now)
    ).count()
    if failures >= LOCKOUT_THRESHOLD and account_active_lock(user, now=now) is None:
        lock = AccountLock.objects.create(
            user=user, locked_at=now, locked_until=now + LOCKOUT_DURATION
        )
        audit_record(
            actor=None,
            action=AuditAction.LOCKED_OUT,
            object_type="user",
            object_id=user.pk,
            after={
                "username": user.username,
                "failures": failures,
                "locked_until": lock.locked_until.isoformat(),
            },
        )


def _throttled(*, username: str, ip: str, now: datetime, step: str) -> LoginResult:
    _attempt(username=username, user=None, ip=ip, outcome=LoginAttempt.Outcome.THROTTLED, now=now)
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        object_id="",
        after={"username": username[:150], "reason": "throttled", "step": step},
    )
    return LoginResult(LoginOutcome.THROTTLED)


def _signed_in(*, user: User, ip: str, now: datetime, second_factor: str) -> LoginResult:
    _attempt(
        username=user.username, user=user, ip=ip, outcome=LoginAttempt.Outcome.SUCCEEDED, now=now
    )
    audit_record(
        actor=user,
        action=AuditAction.LOGIN_SUCCEEDED,
        object_type="user",
        object_id=user.pk,
        after={"username": user.username, "second_factor": second_factor or None},
    )
    return LoginResult(LoginOutcome.SIGNED_IN, user, second_factor)


def _check_second_factor(user: User, code: str, now: datetime) -> str:
    """ "totp" or "recovery_code" when `code` is accepted (and consumed), "" otherwise.
    A TOTP code is accepted only for a time step later than the last accepted one."""
    code = (code or "").strip()
    device = TotpDevice.objects.select_for_update().filter(user=user).first()
    if device is None or not device.is_confirmed or not code:
        return ""
    if mfa.looks_like_recovery_code(code):
        record = (
            RecoveryCode.objects.select_for_update()
            .filter(user=user, code_hash=mfa.recovery_code_hash(code), used_at__isnull=True)
            .first()
        )
        if record is None:
            return ""
        record.used_at = now
        record.save(update_fields=["used_at"])
        remaining = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit_record(
            actor=user,
            action=AuditAction.RECOVERY_CODE_USED,
            object_type="user",
            object_id=user.pk,
            after={"recovery_code": record.pk, "remaining": remaining},
        )
        return "recovery_code"
    secret = mfa.secret_decrypt(device.secret_encrypted, user_id=user.pk)
    step = mfa.totp_matching_step(secret, code, at=now.timestamp())
    if step is None or step <= device.last_used_step:
        return ""
    device.last_used_step = step
    device.save(update_fields=["last_used_step"])
    return "totp"


# ---------------------------------------------------------------- sign-in


def login_attempt(
    *, username: str, password: str, ip: str = "", now: datetime | None = None
) -> LoginResult:
    """The password step. Never tells a caller whether the user name exists or is locked:
    all of those answer REFUSED. Audits failures (user name, never the password)."""
    now = now or timezone.now()
    username = (username or "").strip()
    with transaction.atomic():
        if ip_is_throttled(ip, now=now):
            return _throttled(username=username, ip=ip, now=now, step="password")
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            make_password(password)  # same work as a real check: timing does not tell
            _failed(
                username=username,
                user=None,
                ip=ip,
                outcome=LoginAttempt.Outcome.BAD_CREDENTIALS,
                now=now,
                step="password",
            )
            return LoginResult(LoginOutcome.REFUSED)
        password_ok = user.check_password(password)
        if account_active_lock(user, now=now) is not None:
            _failed(
                username=username,
                user=user,
                ip=ip,
                outcome=LoginAttempt.Outcome.LOCKED,
                now=now,
                step="password",
            )
            return LoginResult(LoginOutcome.REFUSED)
        if not password_ok or not user.is_active:
            _failed(
                username=username,
                user=user,
                ip=ip,
                outcome=LoginAttempt.Outcome.BAD_CREDENTIALS,
                now=now,
                step="password",
            )
            return LoginResult(LoginOutcome.REFUSED)
        if accounts.mfa_device(user) is not None:
            return LoginResult(LoginOutcome.MFA_REQUIRED, user)
        if user_is_privileged(user):
            return LoginResult(LoginOutcome.ENROLMENT_REQUIRED, user)
        return _signed_in(user=user, ip=ip, now=now, second_factor="")


def login_second_factor(
    *, user_id: int, code: str, ip: str = "", now: datetime | None = None
) -> LoginResult:
    """The second step for an enrolled user whose password was accepted: a TOTP code or an
    unused recovery code. Failures count toward the lockout like wrong passwords."""
    now = now or timezone.now()
    with transaction.atomic():
        user = accounts.user_lock(user_id)
        if user is None or not user.is_active:
            return LoginResult(LoginOutcome.REFUSED)
        if ip_is_throttled(ip, now=now):
            return _throttled(username=user.username, ip=ip, now=now, step="second_factor")
        if account_active_lock(user, now=now) is not None:
            _failed(
                username=user.username,
                user=user,
                ip=ip,
                outcome=LoginAttempt.Outcome.LOCKED,
                now=now,
                step="second_factor",
            )
            return LoginResult(LoginOutcome.REFUSED)
        method = _check_second_factor(user, code, now)
        if not method:
            _failed(
                username=user.username,
                user=user,
                ip=ip,
                outcome=LoginAttempt.Outcome.MFA_FAILED,
                now=now,
                step="second_factor",
            )
            return LoginResult(LoginOutcome.REFUSED)
        return _signed_in(user=user, ip=ip, now=now, second_factor=method)


def reauthenticate(
    *, user: User, password: str, code: str = "", ip: str = "", now: datetime | None = None
) -> LoginResult:
    """Confirm a signed-in user's password (and TOTP or recovery code when enrolled) before a
    sensitive action. Failures count toward the lockout."""
    now = now or timezone.now()
    with transaction.atomic():
        locked_user = accounts.user_lock(user.pk)
        if locked_user is None or not locked_user.is_active:
            return LoginResult(LoginOutcome.REFUSED)
        if ip_is_throttled(ip, now=now):
            return _throttled(username=user.username, ip=ip, now=now, step="reauthentication")
        password_ok = locked_user.check_password(password)
        outcome = ""
        if account_active_lock(locked_user, now=now) is not None:
            outcome = LoginAttempt.Outcome.LOCKED
        elif not password_ok:
            outcome = LoginAttempt.Outcome.BAD_CREDENTIALS
        method = ""
        if not outcome and accounts.mfa_device(locked_user) is not None:
            method = _check_second_factor(locked_user, code, now)
            if not method:
                outcome = LoginAttempt.Outcome.MFA_FAILED
        if outcome:
            _failed(
                username=user.username,
                user=locked_user,
                ip=ip,
                outcome=outcome,
                now=now,
                step="reauthentication",
            )
            return LoginResult(LoginOutcome.REFUSED)
        _attempt(
            username=user.username,
            user=locked_user,
            ip=ip,
            outcome=LoginAttempt.Outcome.SUCCEEDED,
            now=now,
        )
        audit_record(
            actor=locked_user,
            action=AuditAction.REAUTHENTICATED,
            object_type="user",
            object_id=user.pk,
            after={"second_factor": method or None},
        )
        return LoginResult(LoginOutcome.SIGNED_IN, locked_user, method)


def logout_record(*, actor: User) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.LOGOUT,
            object_type="user",
            object_id=actor.pk,
            after={"username": actor.username},
        )


def session_expired_record(*, actor: User, idle_minutes: int) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.SESSION_EXPIRED,
            object_type="user",
            object_id=actor.pk,
            after={"username": actor.username, "idle_minutes": idle_minutes},
        )


def account_unlock(*, actor: User | None, user: User, now: datetime | None = None) -> int:
    """Lift the user's active lock(s); returns how many. `actor` None is the CLI."""
    if actor is not None:
        require_permission(actor, "users.unlock")
    now = now or timezone.now()
    with transaction.atomic():
        locks = list(
            lock_rows(
                AccountLock.objects.filter(user=user, lifted_at__isnull=True, locked_until__gt=now)
            ).values()
        )
        if not locks:
            raise Conflict(_("This account is not locked."), code="users.not_locked")
        for lock in locks:
            lock.lifted_at = now
            lock.lifted_by = actor if actor is not None and actor.pk else None
            lock.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(
            actor=actor,
            action=AuditAction.UNLOCKED,
            object_type="user",
            object_id=user.pk,
            before={"locked_until": locks[-1].locked_until.isoformat()},
            after={"username": user.username, "lifted_at": now.isoformat()},
        )
    return len(locks)


# ---------------------------------------------------------------- passwords


def login_after_enrolment(*, user: User, ip: str = "", now: datetime | None = None) -> LoginResult:
    """Complete a sign-in whose second step was the (forced) enrolment just confirmed."""
    now = now or timezone.now()
    with transaction.atomic():
        if accounts.mfa_device(user) is None:
            raise Conflict(
                _("Two-factor sign-in is not active for this account."),
                code="users.mfa_not_enrolled",
            )
        return _signed_in(user=user, ip=ip, now=now, second_factor="totp_enrolment")
