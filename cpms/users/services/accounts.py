"""Accounts and branches: the one writer of `User` and `Branch` rows (staff administration
checks and scopes through `core.authz`; roles are granted by `access.staff`)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import authz
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.users.models import Branch, TotpDevice, User


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


def user_lock(user_id: int) -> User | None:
    """The user's row, locked for update (sign-in and credential changes of one person queue)."""
    return User.objects.select_for_update().filter(pk=user_id).first()


def mfa_device(user: User) -> TotpDevice | None:
    """The user's confirmed TOTP device, or None."""
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
