"""The access layer as the apps below it see it.

`access` (layer 4) decides who may do what. It sits above audit, users and approvals because it
needs them: it audits every grant, it grants roles to users, and it routes grants through
maker-checker. Those lower apps (and core's own views) still have to ask questions of it (may
this user do X; which of these rows does their scope reach), so they ask them here, and
`access` installs the answers when it starts (`AccessConfig.ready` → `install`), the same
registry pattern as approvals' executors. Apps above access call `cpms.access.checks` and
`cpms.access.scopes` directly; both ends run the same code.

Before `install` (a bare `django.setup()` without the access app, which CPMS never does) every
question raises: a missing access layer must never read as "allowed"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class AccessPort:
    """What the access layer provides to the layers below it."""

    has_permission: Callable[[Any, str], bool]
    # raise the refusal (core.errors.PermissionDenied, marked for the audit trail)
    require_permission: Callable[[Any, str], None]
    # the rows of a queryset the user reaches through a permission's scope (access.scopes.scoped)
    scoped: Callable[..., Any]
    # "rm,teller": the actor's active role codes, written into each audit entry
    role_codes: Callable[[Any], str]
    # the console's 403: staff only, and with codes at least one of them
    require_staff: Callable[[HttpRequest, tuple[str, ...]], None]
    # the `access.denied` audit entry for a refused request (403 / out-of-scope 404)
    record_refusal: Callable[..., None]


_port: AccessPort | None = None


def install(port: AccessPort) -> None:
    global _port
    _port = port


def _installed() -> AccessPort:
    if _port is None:
        raise RuntimeError("the access layer is not installed (cpms.access missing from apps)")
    return _port


def user_has_permission(user: Any, code: str) -> bool:
    return _installed().has_permission(user, code)


def require_permission(user: Any, code: str) -> None:
    _installed().require_permission(user, code)


def scoped(queryset: Any, *, user: Any, permission: str) -> Any:
    """The rows of `queryset` within `user`'s scope for `permission` (none when not held)."""
    return _installed().scoped(queryset, user=user, permission=permission)


def role_codes(user: Any) -> str:
    if user is None:
        return ""
    return _installed().role_codes(user)


def require_staff(request: HttpRequest, *codes: str) -> None:
    _installed().require_staff(request, codes)


def record_refusal(request: HttpRequest, *, status: int, exc: BaseException | None) -> None:
    if _port is not None:
        _port.record_refusal(request, status=status, exc=exc)
