"""Creating people with their roles: the account comes from `users` (the one writer of `User`),
the roles from this layer (direct grants for set-up and the CLI, maker-checker grant requests
for the console and the API). Users sit below access, so these compositions live here."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access import checks
from cpms.access import services as access_services
from cpms.access.models import Grant
from cpms.core.errors import ValidationFailed
from cpms.users import services as user_services
from cpms.users.choices import Role
from cpms.users.models import Branch, User


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    roles: list[str] | tuple[str, ...] = (),
    branch: Branch | None = None,
    is_superuser: bool = False,
) -> User:
    """Create a staff (or portal) user and grant `roles` with their default scopes."""
    if actor is not None:
        checks.require_permission(actor, "users.manage")
    unknown = [role for role in roles if not access_services.role_exists(role)]
    if unknown:
        raise ValidationFailed(
            fields={"roles": _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)}}
        )
    with transaction.atomic():
        user = user_services.account_create(
            actor=actor,
            username=username,
            password=password,
            display_name=display_name,
            email=email,
            branch=branch,
            is_staff=Role.CUSTOMER.value not in roles,
            is_superuser=is_superuser,
            recorded={"roles": sorted(roles), "is_superuser": is_superuser},
        )
        for code in roles:
            access_services.grant_create(
                actor=actor, user=user, role=access_services.role_get(code), branch=branch
            )
    return user


def service_account_create(
    *,
    actor: User | None,
    username: str,
    display_name: str = "",
    roles: Sequence[str] = (),
    branch: Branch | None = None,
) -> User:
    """A user for an integration: no password (it cannot sign in), never an approver. Tokens
    for it are created by an administrator with `tokens.manage`."""
    if Role.ADMINISTRATOR.value in roles:
        raise ValidationFailed(fields={"roles": _("A service account cannot be an administrator.")})
    with transaction.atomic():
        user = user_create(
            actor=actor,
            username=username,
            password=secrets.token_urlsafe(32),
            display_name=display_name,
            roles=list(roles),
            branch=branch,
        )
        return user_services.account_make_service(actor=actor, user=user)


@dataclass(frozen=True)
class StaffCreated:
    user: User
    password: str  # the one-time password, shown once; only its hash is stored
    granted: list[Any]  # access roles granted now (no approval required by policy)
    requested: list[Any]  # approval requests waiting for a checker


def _staff_create_check(
    *, actor: User | None, username: str, display_name: str, branch: Branch | None, roles: Any
) -> None:
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = _("A user name is required.")
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("This user name is already taken.")
    if not (display_name or "").strip():
        errors["display_name"] = _("A display name is required.")
    if branch is not None and not branch.is_active:
        errors["branch"] = _("This branch is closed.")
    if roles and actor is None:
        errors["roles"] = _("Grant roles from the console or the API (maker-checker).")
    if errors:
        raise ValidationFailed(fields=errors)


def staff_create(
    *,
    actor: User | None,
    username: str,
    display_name: str,
    branch: Branch | None,
    roles: Sequence[Any] = (),
    email: str = "",
    reason: str = "",
) -> StaffCreated:
    """A new staff member with a one-time password they must change at the first sign-in.
    Each role in `roles` (access `Role` objects) is requested through the access layer like
    any other grant: made now when no approval is needed, else waiting for a checker. Any
    refusal (separation of duties, unknown branch) leaves nothing behind."""
    if actor is not None:
        checks.require_permission(actor, "users.manage")
    username = (username or "").strip()
    _staff_create_check(
        actor=actor, username=username, display_name=display_name, branch=branch, roles=roles
    )
    password = user_services.one_time_password()
    granted: list[Any] = []
    requested: list[Any] = []
    with transaction.atomic():
        user = user_services.account_create(
            actor=actor,
            username=username,
            password=password,
            display_name=display_name.strip(),
            email=(email or "").strip(),
            branch=branch,
            is_staff=True,
            password_change_required=True,
            recorded={
                "roles_requested": sorted(role.code for role in roles),
                "password": "one-time",
            },
            reason=reason,
        )
        for role in roles:
            outcome = access_services.grant_request(
                actor=actor,
                user=user,
                role=role,
                branch=branch,
                reason=reason or _("New staff member %(username)s") % {"username": username},
            )
            if isinstance(outcome, Grant):
                granted.append(role)
            else:
                requested.append(outcome)
    return StaffCreated(user=user, password=password, granted=granted, requested=requested)
