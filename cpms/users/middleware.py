"""Idle session expiry: a signed-in session with no activity for CPMS_SESSION_IDLE_MINUTES
(default 30) is ended and `auth.session_expired` recorded. Requests sent with the header
`X-CPMS-Passive: 1` (background polling) do not count as activity."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from cpms.users.services import security
from cpms.users.sessions import LAST_ACTIVITY, idle_seconds, now_ts

PASSIVE_HEADER = "X-CPMS-Passive"
TOUCH_GRANULARITY_SECONDS = 60  # write the session at most once a minute per user


class IdleSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = now_ts()
            last = request.session.get(LAST_ACTIVITY)
            if isinstance(last, int | float) and now - last > idle_seconds():
                security.session_expired_record(actor=user, idle_minutes=idle_seconds() // 60)
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, _("Your session ended after a period of inactivity."))
                    return redirect_to_login(request.get_full_path())
            elif request.headers.get(PASSIVE_HEADER) != "1" and (
                not isinstance(last, int | float) or now - last >= TOUCH_GRANULARITY_SECONDS
            ):
                request.session[LAST_ACTIVITY] = now
            if getattr(user, "password_change_required", False) and user.is_authenticated:
                redirect = _password_change_first(request)
                if redirect is not None:
                    return redirect
        return self.get_response(request)


# What someone holding a one-time password may still open: the password form itself, signing
# out, the language switch and static files. Everything else sends them to the password form.
_OPEN_PATHS = ("/static/", "/i18n/", "/favicon")


def _password_change_first(request: HttpRequest) -> HttpResponse | None:
    target = reverse("users:password-change")
    path = request.path
    if path == target or path == reverse("console:logout") or path.startswith(_OPEN_PATHS):
        return None
    if path.startswith("/api/"):
        return None  # API calls carry tokens, which such a user cannot have created yet
    if request.method == "GET":
        messages.info(request, _("Choose your own password before you continue."))
    return HttpResponseRedirect(target)
