"""Console pages of the privacy layer: key status, and the reveal endpoint every detail page
uses through `privacy/partials/_masked_value.html`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from cpms.access.checks import require_permission
from cpms.access.console import require_staff
from cpms.core.errors import CpmsError, PermissionDenied
from cpms.privacy import selectors, services
from cpms.privacy.protected import ERASED


@login_required
def keys_status(request: HttpRequest) -> HttpResponse:
    require_staff(request)
    try:
        require_permission(request.user, "keys.manage")
    except PermissionDenied as exc:
        raise DjangoPermissionDenied from exc
    return render(
        request,
        "privacy/keys.html",
        {"status": selectors.key_status(request.user), "section": "privacy"},
    )


@login_required
@require_POST
def reveal(request: HttpRequest) -> HttpResponse:
    """HTMX POST (target, field, reason) -> the revealed-value partial. Refusals render the same
    partial with the message; HTMX requests get status 200 so the message is swapped in, other
    clients get the error's status."""
    require_staff(request)
    target = request.POST.get("target", "")[:200]
    field = request.POST.get("field", "")[:64]
    reason = request.POST.get("reason", "")[:500]
    context = {"target": target, "field": field, "reason": reason, "dom_id": dom_id(target, field)}
    try:
        value = services.pii_reveal(actor=request.user, target=target, field=field, reason=reason)
    except CpmsError as exc:
        context.update(error=exc.message, error_code=exc.code)
        if not request.headers.get("HX-Request"):
            return render(request, "privacy/partials/_reveal_form.html", context, status=exc.status)
        response = render(request, "privacy/partials/_reveal_form.html", context)
        response["HX-Retarget"] = f"#{context['dom_id']}-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    context.update(value=value, erased=value == ERASED)
    response = render(request, "privacy/partials/_revealed_value.html", context)
    response["Cache-Control"] = "no-store"
    return response


def dom_id(target: str, field: str) -> str:
    """A safe element id for one field of one record."""
    raw = f"pii-{target}-{field}"
    return "".join(
        char if char.isascii() and (char.isalnum() or char == "-") else "-" for char in raw
    )
