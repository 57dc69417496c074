"""Reading a JSON request body safely: valid UTF-8 JSON, nested at most MAX_DEPTH levels, and
no NUL character in any key or string (PostgreSQL cannot store one in text). Used by the API's
parser and by the few operations that read their body themselves, so every one refuses the same
input with the same 422."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed

MAX_DEPTH = 32
NUL = "\x00"


def _path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "request"


def check_value(value: Any) -> None:
    """Refuse a parsed JSON value that nests deeper than MAX_DEPTH or carries a NUL character;
    the error names where (e.g. `transfers[3].reference`)."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise ValidationFailed(
                fields={
                    "request": _("JSON may be nested at most %(max)d levels deep.")
                    % {"max": MAX_DEPTH}
                }
            )
        if isinstance(item, str):
            if NUL in item:
                raise ValidationFailed(
                    fields={_path(where): _("Text must not contain NUL characters (\\x00).")}
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if NUL in key:
                    raise ValidationFailed(
                        fields={
                            _path([*where, key.replace(NUL, "\\x00")]): _(
                                "Text must not contain NUL characters (\\x00)."
                            )
                        }
                    )
                stack.append((child, [*where, key]))
        elif isinstance(item, list):
            stack.extend((child, [*where, index]) for index, child in enumerate(item))


def parse_json_body(raw: bytes | str) -> Any:
    """The parsed body, or ValidationFailed (422) saying what is wrong with it."""
    try:
        value = json.loads(raw or b"null")
    except RecursionError:
        raise ValidationFailed(
            fields={
                "request": _("JSON may be nested at most %(max)d levels deep.") % {"max": MAX_DEPTH}
            }
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            _("The request body is not valid JSON."), fields={"request": _("Send JSON.")}
        ) from None
    check_value(value)
    return value
