"""Idle session expiry: a signed-in session with no activity for CPMS_SESSION_IDLE_MINUTES
(default 30) is ended and `auth.session_expired` recorded. Requests sent with the header
`X-CPMS-Passive: 1` (background polling) do not count as activity."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cpms.users import security
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
        return self.get_response(request)
