"""Health check and error pages. Paths under /api/ get the JSON error format; everything else
gets a friendly page in the user's language."""

from __future__ import annotations

import logging

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cpms import __version__
from cpms.core import authz
from cpms.core.errors import error_body
from cpms.core.selectors import database_status

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    reachable, reason = database_status()
    if reachable:
        return JsonResponse({"status": "ok", "database": "ok", "version": __version__})
    logger.error("health check: database unreachable: %s", reason)
    return JsonResponse(
        {"status": "unavailable", "database": reason, "version": __version__}, status=503
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _error(
    request: HttpRequest, *, status: int, code: str, title: str, message: str
) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body(code, message), status=status)
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, DisallowedHost):
        # the page template and its context processors would ask for the host again and fail;
        # answer without them
        message = _("This server does not serve the host name in the request.")
        if _is_api(request):
            return JsonResponse(error_body("bad_request", message), status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    return _error(
        request,
        status=400,
        code="bad_request",
        title=_("Bad request"),
        message=_("The request could not be understood."),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    authz.record_refusal(request, status=403, exc=exception)
    return _error(
        request,
        status=403,
        code="permission_denied",
        title=_("Access denied"),
        message=_("You do not have permission to open this page."),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    authz.record_refusal(request, status=404, exc=exception)
    return _error(
        request,
        status=404,
        code="not_found",
        title=_("Page not found"),
        message=_("The page you asked for does not exist or has moved."),
    )


def debug_page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Debug mode (`make run`) answers a 404 with the friendly page too, not Django's page that
    lists every URL pattern; 500s keep their debug traceback. Installed by `install_debug_404`."""
    return page_not_found(request, exception)


def install_debug_404() -> None:
    """Django renders a 404 in debug mode with `django.views.debug.technical_404_response`,
    looked up at call time; point it at the friendly page (called once, from the console
    app's ready())."""
    from django.views import debug

    debug.technical_404_response = debug_page_not_found


def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any /api/ path no endpoint matches: the JSON error format, in debug mode too."""
    return JsonResponse(error_body("not_found", _("No API endpoint at this path.")), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    message = _("Something went wrong on our side. The error has been logged.")
    request_id = getattr(request, "request_id", "")
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", message, {"request_id": request_id} if request_id else {}),
            status=500,
        )
    try:
        return render(
            request,
            "error.html",
            {
                "status": 500,
                "title": _("Server error"),
                "message": message,
                "request_id": request_id,
            },
            status=500,
        )
    except Exception:  # the page must render even if templates are broken
        logger.exception("error page failed to render")
        text = f"{message} ({request_id})" if request_id else message
        return HttpResponse(text, status=500, content_type="text/plain; charset=utf-8")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        status=403,
        code="csrf_failed",
        title=_("Form expired"),
        message=_("The form was out of date or came from another site. Reload and try again."),
    )
