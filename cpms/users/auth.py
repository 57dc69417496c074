"""API authentication: bearer tokens (`cpms token create`) or a signed-in staff session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from cpms.core import context
from cpms.core.errors import PermissionDenied
from cpms.core.permissions import AREAS
from cpms.users import services
from cpms.users.scopes import scopes_allow


class BearerTokenAuth(HttpBearer):
    openapi_description = "Token from `cpms token create --user NAME`, sent as `Bearer <token>`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        record = services.token_authenticate_record(token)
        if record is None:
            return None
        request.user = record.user
        request.api_token = record  # type: ignore[attr-defined]  (read by require_token_scope)
        # every audit entry of this call names the token (channel "api:<prefix>")
        context.annotate(channel=f"api:{record.prefix}", token_id=record.pk)
        area = area_of_path(request.path)
        if area is not None:  # every operation is covered, whether or not it checks itself
            require_token_scope(request, area, write=request.method not in SAFE_METHODS)
        return record.user


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_ROOT = "/api/v1/"
# First path segment under /api/v1/ -> token scope area. Segments that are an area themselves
# map to it; None means any valid token may call (it only reads the caller's own identity).
PATH_AREAS: dict[str, str | None] = {
    "me": None,
    # the API's own description: any valid token may read it (clients generate code from it)
    "openapi.json": None,
    "docs": None,
    "branches": "users",
    "roles": "access",
    "tokens": "access",
    "purchases": "retail",
    "notifications": None,
    "points": "retail",
    "loans": "ledger",
    "portfolios": "ledger",
    "reconciliation": "ledger",
}


def area_of_path(path: str) -> str | None:
    """The scope area guarding an API path; unknown segments need their own name as area, so a
    new router is closed to scoped tokens until it is mapped (fail closed)."""

    segment = path[len(API_ROOT) :].split("/", 1)[0] if path.startswith(API_ROOT) else ""
    if segment in PATH_AREAS:
        return PATH_AREAS[segment]
    if segment in AREAS:
        return segment
    return segment or None


class StaffSessionAuth(SessionAuth):
    """The console's session, so signed-in staff can use the interactive docs.

    Only a request that carries a signed-in session is checked against CSRF: a caller that
    sent a bearer token (valid or not) or no credential at all gets 401 from the token scheme,
    never "CSRF check failed", and never falls back to a session cookie it also happens to
    carry."""

    def _get_key(self, request: HttpRequest) -> str | None:
        if "Authorization" in request.headers:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if key is None:
            return None
        user = super().authenticate(request, key)
        if user is not None and getattr(user, "is_staff", False):
            return user
        return None


def api_auth() -> list[Any]:
    return [BearerTokenAuth(), StaffSessionAuth()]


def authenticated_user(request: HttpRequest) -> Any:
    """Who is calling, for the docs views that Ninja does not authenticate itself."""
    for method in api_auth():
        user = method(request)
        if user:
            return user
    return None


class TokenScopeInsufficient(PermissionDenied):
    code = "token.scope_insufficient"


def require_token_scope(request: HttpRequest, area: str, write: bool = False) -> None:
    """For API operations: refuse (403, `token.scope_insufficient`) when the call is made with
    a token whose scopes do not cover `area` (write implies read). Calls from a signed-in
    staff session are not limited by token scopes. Permissions are checked separately."""
    record = getattr(request, "api_token", None)
    if record is None:
        return
    if not scopes_allow(record.scopes, area, write=write):
        level = "write" if write else "read"
        raise TokenScopeInsufficient(
            _("This API token does not have the scope “%(scope)s”.") % {"scope": f"{area}:{level}"},
            fields={"scope": f"{area}:{level}", "token_scopes": list(record.scopes)},
        )
