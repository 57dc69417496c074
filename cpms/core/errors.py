"""Domain errors with stable codes. Every interface turns them into the same shape:
`{"error": {"code": "...", "message": "...", "fields": {...}}}`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class CpmsError(Exception):
    """Base of every expected failure. `code` is stable (clients match on it); `message` is
    for people and may be translated; `fields` maps a field name to what is wrong with it."""

    code = "error"
    status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.message = str(message) if message is not None else self.default_message()
        if code is not None:
            self.code = code
        self.fields = dict(fields or {})
        super().__init__(self.message)

    def default_message(self) -> str:
        return _("Request failed.")

    def as_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.fields)


class ValidationFailed(CpmsError):
    code = "validation_failed"
    status = 422

    def default_message(self) -> str:
        return _("The input is not valid.")


class NotAuthenticated(CpmsError):
    code = "not_authenticated"
    status = 401

    def default_message(self) -> str:
        return _("Authentication is required.")


class PermissionDenied(CpmsError):
    code = "permission_denied"
    status = 403

    def default_message(self) -> str:
        return _("You do not have permission to do this.")


class NotFound(CpmsError):
    code = "not_found"
    status = 404

    def default_message(self) -> str:
        return _("Not found.")


class Conflict(CpmsError):
    code = "conflict"
    status = 409

    def default_message(self) -> str:
        return _("The request conflicts with the current state.")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "fields": dict(fields or {})}}
