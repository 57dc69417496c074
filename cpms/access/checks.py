"""Permission checks used by every interface. This is the stable surface other apps call;
the implementation behind it (roles, grants, scopes) lives in this app."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cpms.access.permissions import BY_CODE, DEFAULT_ROLE_PERMISSIONS
from cpms.core.errors import PermissionDenied


def permission_codes(user: Any) -> frozenset[str]:
    """Every permission code the user holds through any role (cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_cpms_permission_codes", None)
    if cached is not None:
        return cached
    codes: set[str] = set()
    for name in user.groups.values_list("name", flat=True):
        codes.update(DEFAULT_ROLE_PERMISSIONS.get(name, ()))
    result = frozenset(codes)
    user._cpms_permission_codes = result
    return result


def user_has_permission(user: Any, code: str) -> bool:
    if code not in BY_CODE:
        raise ValueError(f"unknown permission {code!r}: add it to access.permissions")
    return code in permission_codes(user)


def require_permission(user: Any, code: str) -> None:
    if not user_has_permission(user, code):
        raise PermissionDenied(
            _("You do not have the permission “%(permission)s”.")
            % {"permission": BY_CODE[code].label}
        )
