"""Schemathesis hooks for `.ci/fuzz`: every error CPMS answers under /api/ is in the one error
shape, `{"error": {"code": str, "message": str, "fields": {...}}}`, whatever its status."""

from __future__ import annotations

import json

import schemathesis

# optional details some errors carry, as the OpenAPI Error schema documents them
ERROR_DETAILS = {"existing", "candidates", "candidates_elsewhere"}


@schemathesis.check
def cpms_error_shape(ctx, response, case):
    if response.status_code < 400:
        return None
    if response.status_code == 414:
        # gunicorn refuses a request line over 4,094 bytes before CPMS runs; documented in the
        # OpenAPI document without a body
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} error is not JSON") from exc
    error = body.get("error") if isinstance(body, dict) else None
    if (
        not isinstance(body, dict)
        or set(body) != {"error"}
        or not isinstance(error, dict)
        or not {"code", "message", "fields"} <= set(error)
        or not set(error) - {"code", "message", "fields"} <= ERROR_DETAILS
        or not isinstance(error["code"], str)
        or not isinstance(error["message"], str)
        or not isinstance(error["fields"], dict)
    ):
        raise AssertionError(f"{response.status_code} error is not in the CPMS error shape")
    return None
