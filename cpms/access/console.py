"""The console's gate onto the access layer: one place that answers "may this signed-in user
open this page?" and turns a refusal into Django's 403 page."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from cpms.access.checks import user_has_permission
from cpms.core.refusals import mark


def require_staff(request: HttpRequest, *codes: str) -> None:
    """Staff only; with `codes`, staff holding at least one of those permissions."""
    user = request.user
    if not user.is_staff or (codes and not any(user_has_permission(user, c) for c in codes)):
        raise mark(PermissionDenied(), permission=" | ".join(codes) if codes else "staff")
