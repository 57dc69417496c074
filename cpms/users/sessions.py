"""What the sign-in flow keeps in the session, in one place.

- `cpms_auth_at`: when the user last proved who they are (sign-in or re-authentication);
  `require_recent_authentication` reads it.
- `cpms_last_activity`: last non-passive request; the idle-expiry middleware reads it.
- `cpms_pending`: the password step passed but the second factor (or forced enrolment) is not
  done yet. The user is NOT signed in meanwhile, so no other page is reachable.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.utils import timezone

AUTH_AT = "cpms_auth_at"
LAST_ACTIVITY = "cpms_last_activity"
PENDING = "cpms_pending"
PENDING_MAX_SECONDS = 5 * 60
STAGE_VERIFY = "verify"
STAGE_ENROL = "enrol"


def now_ts() -> float:
    return timezone.now().timestamp()


def idle_seconds() -> int:
    return int(getattr(settings, "CPMS_SESSION_IDLE_MINUTES", 30)) * 60


def pending_set(request: HttpRequest, *, user_id: int, stage: str, next_url: str) -> None:
    request.session.cycle_key()
    request.session[PENDING] = {
        "user_id": user_id,
        "stage": stage,
        "at": now_ts(),
        "next": next_url,
    }


def pending_get(request: HttpRequest, stage: str | None = None) -> dict[str, Any] | None:
    """The pending sign-in, if it is recent enough (and at `stage`, when given)."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or now_ts() - pending.get("at", 0) > PENDING_MAX_SECONDS:
        return None
    if stage is not None and pending.get("stage") != stage:
        return None
    return pending


def pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)


def mark_authenticated(session: Any) -> None:
    """Record a fresh proof of identity (tests may call it on `client.session` too)."""
    session[AUTH_AT] = now_ts()
    session[LAST_ACTIVITY] = now_ts()


def sign_in(request: HttpRequest, user: Any) -> None:
    """Start the Django session for a user who passed every step (rotates the session key)."""
    pending_clear(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    mark_authenticated(request.session)
