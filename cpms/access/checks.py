"""The one access layer: what a user may do (permissions) and on which rows (scopes).
Console views, API operations, CLI commands and exports all call these functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from cpms.access.choices import Scope
from cpms.core.errors import PermissionDenied
from cpms.core.permissions import BY_CODE
from cpms.core.refusals import mark


@dataclass(frozen=True)
class GrantView:
    """An active grant as the checks see it."""

    role: str
    permissions: frozenset[str]
    scope: str
    branch_id: int | None


def active_grants(user: Any) -> tuple[GrantView, ...]:
    """The user's active grants of active roles, loaded once per user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached = getattr(user, "_cpms_grants", None)
    if cached is not None:
        return cached
    from cpms.access.models import Grant

    rows = (
        Grant.objects.filter(user=user, revoked_at__isnull=True, role__is_active=True)
        .select_related("role")
        .prefetch_related("role__permissions")
    )
    grants = tuple(
        GrantView(
            role=grant.role.code,
            permissions=frozenset(permission.code for permission in grant.role.permissions.all()),
            scope=grant.scope,
            branch_id=grant.branch_id,
        )
        for grant in rows
    )
    user._cpms_grants = grants
    return grants


def forget(user: Any) -> None:
    """Drop the cached grants (after a grant or a role changes)."""
    for attribute in ("_cpms_grants",):
        if hasattr(user, attribute):
            delattr(user, attribute)


def role_codes(user: Any) -> str:
    """The user's active role codes, sorted and comma-separated (written into audit entries)."""
    return ",".join(sorted({grant.role for grant in active_grants(user)}))


def permission_codes(user: Any) -> frozenset[str]:
    codes: set[str] = set()
    for grant in active_grants(user):
        codes |= grant.permissions
    return frozenset(codes)


def _known(code: str) -> None:
    if code not in BY_CODE:
        raise ValueError(f"unknown permission {code!r}: add it to core.permissions")


def user_has_permission(user: Any, code: str) -> bool:
    _known(code)
    return any(code in grant.permissions for grant in active_grants(user))


def require_permission(user: Any, code: str) -> None:
    if not user_has_permission(user, code):
        raise mark(
            PermissionDenied(
                _("You do not have the permission “%(permission)s”.")
                % {"permission": BY_CODE[code].label}
            ),
            permission=code,
        )


def permission_scopes(user: Any, code: str) -> list[tuple[str, int | None]]:
    """(scope, branch id) pairs through which the user holds `code`."""
    _known(code)
    return [
        (grant.scope, grant.branch_id) for grant in active_grants(user) if code in grant.permissions
    ]


def has_scope_all(user: Any, code: str) -> bool:
    return any(scope == Scope.ALL for scope, _branch in permission_scopes(user, code))
