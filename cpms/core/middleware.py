"""Request id: taken from a trusted-looking X-Request-ID header or generated, exposed on the
request, in the response header, in every log line, and (later) in every audit entry."""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
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


@functools.cache
def _networks(
    configured: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item) for item in configured)


def _is_trusted_proxy(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address, for the sign-in throttle and the audit trail. The peer address
    (REMOTE_ADDR) unless the peer is one of the configured reverse proxies
    (`CPMS_TRUSTED_PROXIES`): then X-Forwarded-For is read from the right, skipping trusted
    proxies, and the first address that is not one is the client. A client can put anything
    at the left of that header, so nothing left of the last untrusted hop is believed; without
    configured proxies the header is ignored entirely."""
    peer = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(getattr(settings, "CPMS_TRUSTED_PROXIES", ()) or ()))
    if not networks or not _is_trusted_proxy(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed hop: fall back to what the socket says
    return peer


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


NUL = "\x00"


def _first_nul_field(request: HttpRequest) -> str | None:
    """The name of the first query or form field (or the path) whose text holds a NUL
    character. PostgreSQL cannot store NUL in text, and no person types one: such a request is
    refused up front, on every page and API operation alike. Uploaded files are not text
    fields and are not looked at."""
    if NUL in request.path:
        return "path"
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            return name.replace(NUL, "\\x00")
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for name, values in request.POST.lists():
            if NUL in name or any(NUL in value for value in values):
                return name.replace(NUL, "\\x00")
    return None


class NulCharacterMiddleware:
    """Refuses a request with a NUL character in its path, query or form fields: 422 in the
    API error shape under /api/ (the field named), the error page (400) elsewhere. JSON bodies
    are checked by the API's parser (`config.api.CpmsParser`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            field = _first_nul_field(request)
        except MultiPartParserError:
            # a malformed multipart body (no boundary, cut short): refused here, in the error
            # shape, instead of a logged traceback in whatever reads the form next
            message = _("The multipart form body could not be read.")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    error_body("bad_request", message, {"request": message}), status=400
                )
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        if field is None:
            return self.get_response(request)
        message = _("Text must not contain NUL characters (\\x00).")
        if request.path.startswith("/api/"):
            return JsonResponse(
                error_body("validation_failed", _("The input is not valid."), {field: message}),
                status=422,
            )
        from django.shortcuts import render

        return render(
            request,
            "error.html",
            {"status": 400, "title": _("Bad request"), "message": f"{field}: {message}"},
            status=400,
        )
