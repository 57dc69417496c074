"""The API root: Django Ninja at /api/v1/, one error format, one auth policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from cpms import __version__
from cpms.access.api import router as access_router
from cpms.access.refusals import record_refusal
from cpms.approvals.api import router as approvals_router
from cpms.audit.api import router as audit_router
from cpms.core.errors import CpmsError, error_body
from cpms.core.jsonbody import parse_json_body
from cpms.custody.api import router as custody_router
from cpms.customers.api import router as customers_router
from cpms.dataio.api import router as dataio_router
from cpms.documents.api import router as documents_router
from cpms.holdings.api import router as holdings_router
from cpms.ledger.api import router as ledger_router
from cpms.loans.api import router as loans_router
from cpms.notifications.api import router as notifications_router
from cpms.points.api import router as points_router
from cpms.portfolios.api import router as portfolios_router
from cpms.privacy.api import router as privacy_router
from cpms.quality.api import router as quality_router
from cpms.reconciliation.api import router as reconciliation_router
from cpms.retail.api import router as retail_router
from cpms.users.api import router as users_router
from cpms.users.auth import api_auth, authenticated_user

logger = logging.getLogger(__name__)


def _docs_require_auth(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and the interactive docs are for authenticated callers only."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            user = authenticated_user(request)
        except CpmsError as exc:  # e.g. a token without the docs:read scope
            return JsonResponse(exc.as_dict(), status=exc.status)
        if not user:
            response = JsonResponse(
                error_body("not_authenticated", _("A valid API token is required.")), status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="cpms"'
            return response
        return view(request, *args, **kwargs)

    return wrapped


BODY_ERROR = "_cpms_body_error"


class CpmsParser(Parser):
    """JSON bodies through `core.jsonbody` (depth and NUL checks). Ninja turns any parser
    exception into a generic 400, so the specific error is kept on the request and answered by
    `_http_error` instead."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            return parse_json_body(request.body)
        except CpmsError as exc:
            setattr(request, BODY_ERROR, exc)
            raise


# Every operation can answer these, always in the error shape; the document says so, so that
# clients (and the schemathesis run in CI) can rely on it.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, e.g. `ledger.insufficient_funds`.",
                },
                "message": {"type": "string", "description": "For people, in their language."},
                "fields": {
                    "type": "object",
                    "description": "Field name → what is wrong with it (empty if none).",
                },
                # extra detail some conflicts carry (customers.duplicate_identity,
                # customers.possible_duplicate); optional, only within the caller's scope
                "existing": {
                    "type": "object",
                    "description": "The customer already registered with this document.",
                    "properties": {
                        "id": {"type": "integer"},
                        "customer_number": {"type": "string"},
                    },
                },
                "candidates": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Customer numbers of look-alikes within the caller's scope.",
                },
                "candidates_elsewhere": {
                    "type": "integer",
                    "description": "How many look-alikes are outside the caller's scope.",
                },
            },
        }
    },
}
ERROR_DETAILS = frozenset({"existing", "candidates", "candidates_elsewhere"})
ERROR_RESPONSES: dict[int, str] = {
    400: "The request could not be read (malformed body or parameters).",
    401: "No valid API token (or staff session) was presented.",
    403: "The caller lacks the permission or the token lacks the scope.",
    404: "No such object, or not one the caller may see (the two look the same).",
    409: "The request conflicts with the current state (e.g. a reused idempotency key).",
    422: "The input is not valid; `fields` names each field and why.",
    429: "Too many requests of this kind; try again later.",
}
BODY_ERROR_RESPONSES: dict[int, str] = {413: "The request body or upload is too large."}
# answered by the HTTP server (gunicorn limits the request line to 4,094 bytes) before CPMS
# sees the request, so it has no body in the error shape
SERVER_RESPONSES: dict[int, str] = {
    414: "The request line (path and query) is too long; the HTTP server refuses it."
}


class CpmsNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                wanted = dict(ERROR_RESPONSES)
                if method in ("post", "put", "patch"):
                    wanted.update(BODY_ERROR_RESPONSES)
                responses = operation["responses"]
                for status, description in wanted.items():
                    # Ninja keys responses by int; a code declared by the operation wins
                    if status not in responses and str(status) not in responses:
                        responses[status] = {"description": description, "content": reference}
                for status, description in SERVER_RESPONSES.items():
                    responses.setdefault(status, {"description": description})
        return schema


api = CpmsNinjaAPI(
    parser=CpmsParser(),
    title="CPMS API",
    version=__version__,
    description=(
        "Customer Property Management System. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `cpms token create --user NAME`). Lists take `limit` and `cursor` and "
        'return `{"items": [...], "next_cursor": ...}`. Every error is '
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.'
    ),
    auth=api_auth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=_docs_require_auth,
)


def _field_name(location: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    # Ninja nests parameters under the function argument name; drop that wrapper level.
    if len(parts) > 1 and parts[0] in {"payload", "data", "filters", "pagination", "params"}:
        parts = parts[1:]
    return ".".join(parts) or "request"


@api.exception_handler(CpmsError)
def _domain_error(request: HttpRequest, exc: CpmsError) -> HttpResponse:
    if exc.status in (403, 404):
        record_refusal(request, status=exc.status, exc=exc)
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        name = _field_name(error.get("loc", ()))
        message = str(error.get("msg", ""))
        fields[name] = f"{fields[name]}; {message}" if name in fields else message
    body = error_body("validation_failed", _("The input is not valid."), fields)
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = error_body("not_authenticated", _("A valid API token is required."))
    response = api.create_response(request, body, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="cpms"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    body_error = getattr(request, BODY_ERROR, None)
    if body_error is not None:
        return api.create_response(request, body_error.as_dict(), status=body_error.status)
    codes = {403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    if exc.status_code in (403, 404):
        record_refusal(request, status=exc.status_code, exc=exc)
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    record_refusal(request, status=404, exc=exc)
    return api.create_response(request, error_body("not_found", _("Not found.")), status=404)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled API error", exc_info=exc)
    request_id = getattr(request, "request_id", "")
    body = error_body(
        "server_error",
        _("Something went wrong on our side. The error has been logged."),
        {"request_id": request_id} if request_id else {},
    )
    return api.create_response(request, body, status=500)


api.add_router("/", users_router)
api.add_router("/access/", access_router)
api.add_router("/approvals/", approvals_router)
api.add_router("/audit/", audit_router)
api.add_router("/privacy/", privacy_router)
api.add_router("/customers/", customers_router)
api.add_router("/holdings/", holdings_router)
api.add_router("/custody/", custody_router)
api.add_router("/documents/", documents_router)
api.add_router("/purchases/", retail_router)
api.add_router("/quality/", quality_router)
api.add_router("/data/", dataio_router)
api.add_router("/notifications/", notifications_router)
api.add_router("/ledger/", ledger_router)
api.add_router("/points/", points_router)
api.add_router("/loans/", loans_router)
api.add_router("/portfolios/", portfolios_router)
api.add_router("/reconciliation/", reconciliation_router)
