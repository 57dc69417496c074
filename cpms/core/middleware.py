"""Request id: taken from a trusted-looking X-Request-ID header or generated, exposed on the
request, in the response header, in every log line, and (later) in every audit entry."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from cpms.core import context
from cpms.core.errors import error_body

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "cpms_request_id", default="-"
)


def request_id_from(request: HttpRequest) -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if _VALID_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, configure it to overwrite REMOTE_ADDR (e.g. gunicorn
    --forwarded-allow-ips); X-Forwarded-For is not trusted here because clients can forge it."""
    return request.META.get("REMOTE_ADDR", "")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        channel = "api" if request.path.startswith("/api/") else "console"
        try:
            with context.acting(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:400],
                channel=channel,
            ):
                response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
}


class ApiErrorFormatMiddleware:
    """Guarantees the JSON error shape for every error under /api/, including responses that
    Django or Ninja produce before any CPMS code runs (405 from routing, 413, ...)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = _STATUS_CODES.get(response.status_code, "server_error")
            message = response.reason_phrase
            if response.status_code == 405:
                message = _("This method is not allowed here.")
            replacement = JsonResponse(error_body(code, message), status=response.status_code)
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response
