"""Writes for users, branches and API tokens. Each function owns its transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import authz
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.users.models import ApiToken, Branch, User
from cpms.users.scopes import scopes_cover, scopes_normalise

TOKEN_PREFIX = "cpms"  # noqa: S105 (a public marker, not a secret)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_DAYS = 3650


def token_hash(token: str) -> str:
    """Tokens carry 256 random bits, so a fast hash is enough to make the stored value useless."""
    return hashlib.sha256(token.encode()).hexdigest()


def branch_ensure(*, actor: User | None, code: str, name: str, city: str = "") -> Branch:
    """Create a branch by code, or return the existing one unchanged."""
    if not code.strip():
        raise ValidationFailed(fields={"code": _("A branch code is required.")})
    with transaction.atomic():
        branch, created = Branch.objects.get_or_create(
            code=code.strip(), defaults={"name": name, "city": city}
        )
        if created:
            audit_record(
                actor=actor,
                action=AuditAction.BRANCH_CREATED,
                object_type="branch",
                object_id=branch.pk,
                after={"code": branch.code, "name": branch.name, "city": branch.city},
            )
    return branch


def account_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    branch: Branch | None = None,
    is_staff: bool = True,
    is_superuser: bool = False,
    password_change_required: bool = False,
    recorded: dict[str, Any] | None = None,
    reason: str = "",
) -> User:
    """Create the account itself (the one writer of `User` rows) with its audit entry; `recorded`
    adds what the caller decided around it (e.g. the roles granted or requested) to the entry.
    Callers check permissions and validate first: staff are created through
    `access.staff.user_create` / `access.staff.staff_create`, which also grant the roles."""
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(fields={"username": _("This user name is already taken.")})
    with transaction.atomic():
        user = User(
            username=username,
            display_name=display_name,
            email=email,
            branch=branch,
            is_staff=is_staff,
            is_superuser=is_superuser,
            password_change_required=password_change_required,
        )
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor,
            action=AuditAction.USER_CREATED,
            object_type="user",
            object_id=user.pk,
            after={
                "username": user.username,
                "display_name": user.display_name,
                "email": user.email,
                "branch": branch.code if branch else None,
                **(recorded or {}),
            },
            pii_fields=("email",),
            reason=reason,
        )
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once; never stored
    record: ApiToken


class ReauthenticationRequired(PermissionDenied):
    code = "token.reauthentication_required"


def _require_presence(
    *, actor: User, reauthenticated: bool, password: str | None, code: str, ip: str
) -> None:
    """A new credential is issued only to someone who has just proved who they are: a fresh
    console re-authentication, or the password (and two-factor code) given with the request.
    Privileged roles must have two-factor sign-in enrolled; a token alone is never enough."""
    from cpms.users import security

    if security.user_is_privileged(actor) and security.mfa_device(actor) is None:
        raise ReauthenticationRequired(
            _("Enrol two-factor sign-in before creating API tokens."),
            fields={"code": _("Two-factor sign-in is required for your role.")},
        )
    if reauthenticated:
        return
    if not password:
        raise ReauthenticationRequired(
            _("Confirm your password (and two-factor code) to create an API token."),
            fields={"password": _("This field is required.")},
        )
    result = security.reauthenticate(user=actor, password=password, code=code or "", ip=ip)
    if result.user is None:
        raise ReauthenticationRequired(
            _("The password or two-factor code is wrong."),
            code="token.reauthentication_failed",
            fields={"password": _("Check the password and the two-factor code.")},
        )


def token_create(
    *,
    actor: User | None,
    user: User,
    name: str = "",
    expires_days: int | None = None,
    scopes: Sequence[str] | None = None,
    via_token: ApiToken | None = None,
    reauthenticated: bool = False,
    password: str | None = None,
    code: str = "",
    ip: str = "",
) -> IssuedToken:
    """A new token for `user`, printed once. `scopes` default to ["*:read"] (read everywhere);
    see `users.scopes` for the grammar.

    Nobody obtains a credential that acts as another person: a person creates tokens only for
    themselves, after proving their presence (`reauthenticated` by the console, or `password`
    and `code` checked here); an administrator with `tokens.manage` may create tokens for a
    *service account* (never for a person). A token (`via_token`) can never mint one with scopes
    it lacks itself. `actor=None` is an operator on the server (`cpms token create`), audited as
    such through the CLI channel (docs/security.md)."""
    scopes = scopes_normalise(scopes)
    if via_token is not None and not scopes_cover(via_token.scopes, scopes):
        raise PermissionDenied(
            _("A token cannot create a token with scopes it does not have itself."),
            code="token.scope_insufficient",
            fields={"scopes": scopes, "token_scopes": list(via_token.scopes)},
        )
    if actor is not None:
        if actor.pk != user.pk:
            if not actor.is_service_account:
                authz.require_permission(actor, "tokens.manage")
            if actor.is_service_account or not user.is_service_account:
                raise PermissionDenied(
                    _(
                        "A token acts as its owner: each person creates their own tokens. "
                        "Tokens for integrations belong to service accounts."
                    ),
                    code="token.other_person",
                    fields={"user": _("Not a service account.")},
                )
        if not actor.is_service_account:  # it has no password; it renews through its token
            _require_presence(
                actor=actor,
                reauthenticated=reauthenticated,
                password=password,
                code=code,
                ip=ip,
            )
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(
            fields={
                "expires_days": _("Use a number of days from 1 to %(max)d.")
                % {"max": MAX_TOKEN_DAYS}
            }
        )
    if not user.is_active:
        raise ValidationFailed(fields={"user": _("The user is not active.")})
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
            scopes=scopes,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_CREATED,
            object_type="api_token",
            object_id=record.pk,
            after={
                "user": user.username,
                "service_account": user.is_service_account,
                "prefix": prefix,
                "name": name,
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
                "scopes": scopes,
                "created_by": actor.username if actor is not None else None,
            },
        )
    return IssuedToken(token=token, record=record)


def account_make_service(*, actor: User | None, user: User) -> User:
    """Turn a new account into a service account: no usable password (it cannot sign in), never
    an approver (`access.staff.service_account_create` creates them)."""
    with transaction.atomic():
        user.set_unusable_password()
        user.is_service_account = True
        user.save(update_fields=["password", "is_service_account"])
        audit_record(
            actor=actor,
            action=AuditAction.USER_UPDATED,
            object_type="user",
            object_id=user.pk,
            before={"is_service_account": False},
            after={"is_service_account": True, "password": "unusable"},
        )
    return user


def token_revoke(*, actor: User | None, prefix: str) -> ApiToken:
    with transaction.atomic():
        record = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
        if record is None:
            raise NotFound(_("No API token has this prefix."), fields={"prefix": prefix})
        if record.revoked_at is None:
            record.revoked_at = timezone.now()
            record.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                object_type="api_token",
                object_id=record.pk,
                before={"revoked_at": None},
                after={"revoked_at": record.revoked_at.isoformat()},
            )
    return record


def token_authenticate(token: str) -> User | None:
    """The active user a presented token belongs to, or None."""
    record = token_authenticate_record(token)
    return record.user if record is not None else None


def token_authenticate_record(token: str) -> ApiToken | None:
    """The usable token record (with its active user) for a presented token, or None. Records
    the last use at most once a minute so authentication does not write on every request."""
    if not token.startswith(f"{TOKEN_PREFIX}_"):
        return None
    record = ApiToken.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    now = timezone.now()
    if record is None or not record.is_usable(now) or not record.user.is_active:
        return None
    if record.last_used_at is None or now - record.last_used_at >= TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


# ---------------------------------------------------------------- staff administration
#
# One function per state change, each in its own transaction with its audit entry. The actor
# holds `users.manage` and reaches the staff member within that permission's scope (a
# branch-scoped administrator administers their branch only; anything else is "not found").
# Nobody administers themselves: no self-deactivation, no self password reset here (people
# change their own password on their account page). Role grants go through the access layer
# (`access.services.grant_request`, maker-checker), never around it. `actor=None` is the CLI.

ONE_TIME_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"  # noqa: S105


def one_time_password() -> str:
    """A password given once to a person (new account, reset): 4 groups of 4 characters
    without look-alikes (~91 bits), which the person must replace at the next sign-in."""
    groups = (
        "".join(secrets.choice(ONE_TIME_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)
    )
    return "-".join(groups)


def staff_administered(*, actor: User | None, user: User) -> User:
    """`user` locked for update if `actor` may administer them; NotFound outside the actor's
    `users.manage` scope (missing and out of scope look the same); PermissionDenied without
    the permission."""
    users = User.objects.all()
    if actor is not None:
        authz.require_permission(actor, "users.manage")
        users = authz.scoped(users, user=actor, permission="users.manage")
    locked = users.select_for_update().filter(pk=user.pk, is_service_account=False).first()
    if locked is None:
        raise NotFound()
    return locked


def _refuse_self(actor: User | None, user: User, message: str) -> None:
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(message, code="users.self_administration")


def staff_update(
    *,
    actor: User | None,
    user: User,
    display_name: str,
    branch: Branch | None,
    email: str = "",
) -> User:
    """Change a staff member's display name, branch and e-mail address."""
    errors: dict[str, str] = {}
    if not (display_name or "").strip():
        errors["display_name"] = _("A display name is required.")
    if branch is not None and not branch.is_active and branch.pk != user.branch_id:
        errors["branch"] = _("This branch is closed.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = staff_administered(actor=actor, user=user)
        before = {
            "display_name": locked.display_name,
            "email": locked.email,
            "branch": locked.branch.code if locked.branch_id else None,
        }
        locked.display_name = display_name.strip()
        locked.email = (email or "").strip()
        locked.branch = branch
        after = {
            "display_name": locked.display_name,
            "email": locked.email,
            "branch": branch.code if branch else None,
        }
        if after != before:
            locked.save(update_fields=["display_name", "email", "branch"])
            audit_record(
                actor=actor,
                action=AuditAction.USER_UPDATED,
                object_type="user",
                object_id=locked.pk,
                before=before,
                after={"username": locked.username, **after},
                pii_fields=("email",),
            )
    return locked


def staff_deactivate(*, actor: User | None, user: User, reason: str = "") -> User:
    """Stop a staff member signing in (sessions and tokens stop working at once: both check
    `is_active`). Grants stay, so reactivation restores the same access."""
    _refuse_self(actor, user, _("You cannot deactivate your own account."))
    with transaction.atomic():
        locked = staff_administered(actor=actor, user=user)
        if not locked.is_active:
            raise ValidationFailed(fields={"user": _("This account is already inactive.")})
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action=AuditAction.USER_DEACTIVATED,
            object_type="user",
            object_id=locked.pk,
            before={"is_active": True},
            after={"username": locked.username, "is_active": False},
            reason=reason,
        )
    return locked


def staff_reactivate(*, actor: User | None, user: User, reason: str = "") -> User:
    _refuse_self(actor, user, _("You cannot reactivate your own account."))
    with transaction.atomic():
        locked = staff_administered(actor=actor, user=user)
        if locked.is_active:
            raise ValidationFailed(fields={"user": _("This account is already active.")})
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action=AuditAction.USER_REACTIVATED,
            object_type="user",
            object_id=locked.pk,
            before={"is_active": False},
            after={"username": locked.username, "is_active": True},
            reason=reason,
        )
    return locked
