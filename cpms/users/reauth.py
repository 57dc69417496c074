"""Re-authentication before sensitive console actions.

    from cpms.users.reauth import require_recent_authentication

    @login_required
    @require_recent_authentication(max_age_minutes=5)
    def key_rotate(request): ...

A user who has not signed in or re-authenticated within `max_age_minutes` is sent to
`users:reauth` (password, plus TOTP when enrolled) and then back. For a POST the way back is the
page the form was on (the `next` field, else the same-site Referer), because the form has to be
submitted again. In tests, `cpms.users.sessions.mark_authenticated(session)` fakes a fresh proof.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cpms.users.sessions import AUTH_AT, now_ts

DEFAULT_MAX_AGE_MINUTES = 5


def is_recently_authenticated(
    request: HttpRequest, max_age_minutes: int = DEFAULT_MAX_AGE_MINUTES
) -> bool:
    at = request.session.get(AUTH_AT)
    return isinstance(at, int | float) and now_ts() - at <= max_age_minutes * 60


def safe_next(request: HttpRequest, candidate: str | None, default: str = "/") -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _return_path(request: HttpRequest) -> str:
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    explicit = request.POST.get("next")
    if explicit:
        return safe_next(request, explicit)
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


def reauth_url(next_path: str) -> str:
    return f"{reverse('users:reauth')}?{urlencode({'next': next_path})}"


def require_recent_authentication(
    view: Callable[..., HttpResponse] | None = None,
    *,
    max_age_minutes: int = DEFAULT_MAX_AGE_MINUTES,
) -> Any:
    """Decorator for console views; usable bare or with `max_age_minutes=`."""

    def decorator(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if is_recently_authenticated(request, max_age_minutes):
                return func(request, *args, **kwargs)
            target = reauth_url(_return_path(request))
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)

        return wrapped

    if view is not None:
        return decorator(view)
    return decorator
