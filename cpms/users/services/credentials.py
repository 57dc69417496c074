"""Credentials a person holds: changing their password, an administrator's one-time password
reset, two-factor enrolment, recovery codes and the two-factor reset (with the two-key rule:
one administrator cannot reset both a person's password and their two-factor within a day).
Each function owns its transaction and writes its audit entry in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.audit.services import audit_record
from cpms.core.authz import require_permission
from cpms.core.errors import Conflict, PermissionDenied, ValidationFailed
from cpms.users import mfa
from cpms.users.models import RecoveryCode, TotpDevice, User
from cpms.users.services import accounts


def password_change(*, actor: User, user: User, old: str, new: str) -> User:
    """Change one's own password: the old one must match, the new one passes the policy
    (AUTH_PASSWORD_VALIDATORS: at least 12 characters, not common, not all digits, not like
    the user's name)."""
    if actor.pk != user.pk:
        raise ValidationFailed(fields={"user": _("You can change only your own password.")})
    with transaction.atomic():
        locked = accounts.user_lock(user.pk)
        if locked is None or not locked.check_password(old or ""):
            raise ValidationFailed(fields={"old": _("The current password is not correct.")})
        if new == old:
            raise ValidationFailed(
                fields={"new": _("The new password must differ from the current one.")}
            )
        try:
            validate_password(new, locked)
        except DjangoValidationError as exc:
            raise ValidationFailed(fields={"new": " ".join(exc.messages)}) from exc
        was_required = locked.password_change_required
        locked.set_password(new)
        locked.password_change_required = False
        locked.save(update_fields=["password", "password_change_required"])
        audit_record(
            actor=actor,
            action=AuditAction.PASSWORD_CHANGED,
            object_type="user",
            object_id=user.pk,
            after={"username": user.username, "replaced_one_time_password": was_required},
        )
    user.password = locked.password
    user.password_change_required = False
    return locked


# one administrator may not both reset a person's password and remove their two-factor
# enrolment within this window: together the two would let them sign in as that person
TWO_KEY_WINDOW = timedelta(hours=24)


def _refuse_second_key(*, actor: User | None, user: User, other: str) -> None:
    """Refuse when `actor` did the `other` half of a takeover of `user` within the window; a
    second administrator must do it (the CLI, the server operator's tool, is not limited)."""
    if actor is None:
        return

    since = timezone.now() - TWO_KEY_WINDOW
    if AuditEntry.objects.filter(
        action=other, object_type="user", object_id=str(user.pk), actor=actor, created_at__gte=since
    ).exists():
        raise PermissionDenied(
            _(
                "You reset this person's %(other)s less than 24 hours ago: another "
                "administrator must do this, so that no one person can sign in as them."
            )
            % {
                "other": _("two-factor sign-in")
                if other == AuditAction.MFA_DISABLED
                else _("password")
            },
            code="users.two_key_rule",
        )


def password_reset(*, actor: User | None, user: User, reason: str = "") -> str:
    """An administrator gives `user` a new one-time password (returned, shown once) that they
    must replace at the next sign-in; their sessions end (the session hash changes). Not for
    oneself: people change their own password with the current one. `actor` None is the CLI."""
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(
            _("Change your own password on your account page."),
            code="users.self_administration",
        )
    password = accounts.one_time_password()
    with transaction.atomic():
        locked = accounts.staff_administered(actor=actor, user=user)
        _refuse_second_key(actor=actor, user=locked, other=AuditAction.MFA_DISABLED)
        locked.set_password(password)
        locked.password_change_required = True
        locked.save(update_fields=["password", "password_change_required"])
        audit_record(
            actor=actor,
            action=AuditAction.PASSWORD_RESET,
            object_type="user",
            object_id=locked.pk,
            after={"username": locked.username, "password": "one-time"},
            reason=reason,
        )
    return password


# ---------------------------------------------------------------- two-factor enrolment


@dataclass(frozen=True)
class Enrolment:
    secret: str  # shown on the enrolment page for manual entry; stored only encrypted
    uri: str  # otpauth:// URI
    qr_data_uri: str  # SVG QR code as a data: URI


def mfa_enrolment_begin(*, actor: User | None, user: User, restart: bool = False) -> Enrolment:
    """Create (or reuse) the pending, unconfirmed TOTP secret for `user`. Nothing is active
    until `mfa_enrolment_confirm` accepts a code from it."""
    with transaction.atomic():
        accounts.user_lock(user.pk)
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.is_confirmed:
            raise Conflict(
                _("Two-factor sign-in is already active for this account."),
                code="users.mfa_already_enrolled",
            )
        if device is not None and not restart:
            secret = mfa.secret_decrypt(device.secret_encrypted, user_id=user.pk)
        else:
            secret = mfa.secret_new()
            if device is not None:
                device.delete()
            device = TotpDevice.objects.create(
                user=user, secret_encrypted=mfa.secret_encrypt(secret, user_id=user.pk)
            )
            audit_record(
                actor=actor,
                action=AuditAction.MFA_ENROLMENT_STARTED,
                object_type="user",
                object_id=user.pk,
                after={"restart": restart},
            )
    uri = mfa.provisioning_uri(secret, username=user.username)
    return Enrolment(secret=secret, uri=uri, qr_data_uri=mfa.qr_data_uri(uri))


def _recovery_codes_replace(user: User, now: datetime) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [mfa.recovery_code_new() for _ in range(mfa.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=mfa.recovery_code_hash(code), created_at=now)
        for code in codes
    )
    return codes


def mfa_enrolment_confirm(
    *, actor: User | None, user: User, code: str, now: datetime | None = None
) -> list[str]:
    """Activate the pending secret once a code from it is given; returns the ten recovery
    codes (shown once, stored hashed)."""
    now = now or timezone.now()
    with transaction.atomic():
        accounts.user_lock(user.pk)
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            raise ValidationFailed(fields={"code": _("Start the enrolment first.")})
        if device.is_confirmed:
            raise Conflict(
                _("Two-factor sign-in is already active for this account."),
                code="users.mfa_already_enrolled",
            )
        secret = mfa.secret_decrypt(device.secret_encrypted, user_id=user.pk)
        step = mfa.totp_matching_step(secret, code or "", at=now.timestamp())
        if step is None:
            raise ValidationFailed(
                fields={"code": _("The code is not correct. Check the time on your device.")}
            )
        device.confirmed_at = now
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _recovery_codes_replace(user, now)
        audit_record(
            actor=actor,
            action=AuditAction.MFA_ENROLLED,
            object_type="user",
            object_id=user.pk,
            after={"username": user.username, "recovery_codes": len(codes)},
        )
    return codes


def recovery_codes_regenerate(*, actor: User, user: User, now: datetime | None = None) -> list[str]:
    """Replace every recovery code of an enrolled user; the old ones stop working."""
    if actor.pk != user.pk:
        require_permission(actor, "users.manage")
    now = now or timezone.now()
    with transaction.atomic():
        accounts.user_lock(user.pk)
        if accounts.mfa_device(user) is None:
            raise Conflict(
                _("Two-factor sign-in is not active for this account."),
                code="users.mfa_not_enrolled",
            )
        codes = _recovery_codes_replace(user, now)
        audit_record(
            actor=actor,
            action=AuditAction.RECOVERY_CODES_REGENERATED,
            object_type="user",
            object_id=user.pk,
            after={"username": user.username, "recovery_codes": len(codes)},
        )
    return codes


def mfa_reset(*, actor: User | None, user: User, reason: str = "") -> None:
    """Remove a user's TOTP device and recovery codes (lost phone). Administrators only
    (`users.manage`); a privileged user must enrol again at the next sign-in."""
    if actor is not None:
        require_permission(actor, "users.manage")
        if actor.pk == user.pk:
            raise PermissionDenied(
                _("You cannot remove your own two-factor sign-in."),
                code="users.self_administration",
            )
    with transaction.atomic():
        if actor is not None:
            accounts.staff_administered(actor=actor, user=user)  # in scope, else not found
        accounts.user_lock(user.pk)
        _refuse_second_key(actor=actor, user=user, other=AuditAction.PASSWORD_RESET)
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or not device.is_confirmed:
            raise Conflict(
                _("Two-factor sign-in is not active for this account."),
                code="users.mfa_not_enrolled",
            )
        device.delete()
        RecoveryCode.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            action=AuditAction.MFA_DISABLED,
            object_type="user",
            object_id=user.pk,
            before={"mfa": True},
            after={"username": user.username, "mfa": False},
            reason=reason,
        )
