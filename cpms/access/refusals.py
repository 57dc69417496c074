"""Every refused access leaves an `access.denied` audit entry.

Refusals are recorded where they are turned into responses — the console's 403 and 404 pages
(`core.views`) and the API's error handlers (`config.api`) — so no view has to remember.
Recorded: every 403 of a signed-in user, and every 404 that `access.scopes.get_for_user`
raised for a row that exists outside the user's scope (the response stays a plain 404: scope
never leaks existence). A missing page or a missing row is not a refusal and is not recorded;
neither is anything an anonymous caller does. At most one entry per request."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.refusals import mark, refusal_of

__all__ = ["mark", "record_refusal", "refusal_of"]

logger = logging.getLogger(__name__)

_RECORDED = "_cpms_refusal_recorded"
MAX_PATH = 300


def record_refusal(request: HttpRequest, *, status: int, exc: BaseException | None) -> None:
    """Write the `access.denied` entry for a refused request (see the module docstring)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return
    if getattr(request, _RECORDED, False):
        return
    details = refusal_of(exc)
    if status == 404 and details is None:
        return  # a missing page or row, not a refusal
    details = details or {}
    setattr(request, _RECORDED, True)
    after = {
        "status": status,
        "method": (request.method or "")[:10],
        "path": request.path[:MAX_PATH],
        "permission": str(details.get("permission", ""))[:200],
    }
    if details.get("scope"):
        after["scope"] = str(details["scope"])[:100]
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        after["code"] = code[:100]
    try:
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.ACCESS_DENIED,
                object_type=str(details.get("object_type", ""))[:64],
                object_id=str(details.get("object_id", ""))[:64],
                after=after,
            )
    except Exception:  # the refusal must still be answered
        logger.exception("could not record access.denied for %s", request.path[:MAX_PATH])
