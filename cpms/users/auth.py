"""API authentication: bearer tokens (`cpms token create`) or a signed-in staff session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from cpms.users import services


class BearerTokenAuth(HttpBearer):
    openapi_description = "Token from `cpms token create --user NAME`, sent as `Bearer <token>`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = services.token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class StaffSessionAuth(SessionAuth):
    """The console's session, so signed-in staff can use the interactive docs."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
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
