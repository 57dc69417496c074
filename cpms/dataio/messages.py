"""Import problems stored as a code and parameters, rendered in the language of whoever reads
them (issue 11, item 7).

The import modules (`columns`, `readers`, `customers`, `holdings`, `purchases`, `services`)
write their messages with `_` from here instead of Django's `gettext`. It still returns the
text translated into the active language (so exceptions, the CLI and the API read as before),
but the text remembers its message id (`Text`), and `Text % params` gives a `Message` that
remembers its parameters too. `problem()` turns any of those (or a lazy translation such as
the ones `customers.validators` raise) into what an import job stores:

    {"row": 12, "field": "phone", "column": "手机号码",
     "code": "This is not a valid phone number; ...", "params": {}, "reason": "phone.invalid"}

`code` is the message's gettext id (its English source text: stable across languages, the key
of the translation catalogue); `params` are its parameters, themselves codes when they are
translatable (a dataset's name). `reason` is the stable machine code of a validator or service
error, when there is one. A message that has no id (a service's text, a library's message) is
kept as `text`, in the language it was written in. `render()` gives the text in the active
language; entries stored before codes existed (`message`) are shown as they were written.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext

MAX_TEXT_CHARS = 1000
MAX_PARAM_CHARS = 300


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Text(str):
    """The translation of `msgid` in the active language, remembering `msgid`."""

    msgid: str

    def __new__(cls, msgid: str) -> Text:
        obj = super().__new__(cls, gettext(msgid))
        obj.msgid = msgid
        return obj

    def __mod__(self, params: Any) -> Any:
        if not isinstance(params, dict):
            return str(self) % params
        return Message(self.msgid, params)

    def coded(self) -> dict[str, Any]:
        return {"code": self.msgid, "params": {}}


class Message(str):
    """`gettext(msgid) % params` in the active language, remembering both."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any]) -> Message:
        obj = super().__new__(cls, gettext(msgid) % params)
        obj.msgid = msgid
        obj.params = params
        return obj

    def coded(self) -> dict[str, Any]:
        return {"code": self.msgid, "params": {k: _param(v) for k, v in self.params.items()}}


def _(msgid: str) -> Text:  # the name `_` keeps makemessages extracting these strings
    return Text(msgid)


def _lazy_parts(value: Promise) -> dict[str, Any] | None:
    """Message id and parameters of a lazy translation: `gettext_lazy(msgid)`, or
    `lazy(interpolate)(gettext_lazy(msgid), params)` as `customers.validators` builds them.
    None when the proxy is of another shape."""
    args = getattr(value, "_args", None)
    if not isinstance(args, tuple) or not args:
        return None
    if len(args) == 1 and isinstance(args[0], str):
        return {"code": args[0], "params": {}}
    if len(args) == 2 and isinstance(args[1], dict):
        inner = args[0]
        if isinstance(inner, Promise):
            found = _lazy_parts(inner)
        elif isinstance(inner, str):
            found = {"code": inner, "params": {}}
        else:
            found = None
        if found is not None and not found["params"]:
            return {"code": found["code"], "params": {k: _param(v) for k, v in args[1].items()}}
    return None


def _param(value: Any) -> Any:
    """A parameter as JSON: numbers and texts as they are, translatable texts as codes."""
    if isinstance(value, Text | Message):
        return value.coded()
    if isinstance(value, Promise):
        found = _lazy_parts(value)
        return found if found is not None else _short(str(value), MAX_PARAM_CHARS)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return _short(str(value), MAX_PARAM_CHARS)


def coded(message: Any) -> dict[str, Any]:
    """{"code", "params"} of a message, or {"text"} when it has no message id."""
    if isinstance(message, Text | Message | Joined):
        return message.coded()
    if isinstance(message, Promise):
        found = _lazy_parts(message)
        if found is not None:
            return found
    return {"text": _short(str(message), MAX_TEXT_CHARS)}


def problem(
    row: int | None, field: str, column: str, message: Any, *, reason: str = ""
) -> dict[str, Any]:
    """What an import job stores about one problem (see the module's docstring)."""
    entry: dict[str, Any] = {"row": row, "field": field, "column": column, **coded(message)}
    if reason:
        entry["reason"] = reason
    return entry


def _render_param(value: Any) -> Any:
    if isinstance(value, dict) and "code" in value:
        return render(value)
    return value


def render(entry: Any) -> str:
    """A stored message (or parameter) in the active language."""
    if not isinstance(entry, dict):
        return "" if entry is None else str(entry)
    if isinstance(entry.get("parts"), list):
        return " ".join(render(part) for part in entry["parts"])
    code = entry.get("code")
    if isinstance(code, str) and code:
        params = entry.get("params") or {}
        try:
            if params:
                return gettext(code) % {k: _render_param(v) for k, v in params.items()}
            return gettext(code)
        except (KeyError, TypeError, ValueError):
            return entry.get("text") or code
    return str(entry.get("text") or entry.get("message") or "")


def rendered_errors(errors: Any) -> list[dict[str, Any]]:
    """Stored problems with their message in the active language (for pages, the error
    report and the API): row, column, message."""
    rows = []
    for entry in errors or []:
        if not isinstance(entry, dict):
            continue
        rows.append(
            {
                "row": entry.get("row"),
                "field": entry.get("field", ""),
                "column": entry.get("column", ""),
                "message": render(entry),
            }
        )
    return rows


class Joined(str):
    """Several messages shown as one (a header row's problems), each kept with its code."""

    parts: list[Any]

    def __new__(cls, parts: list[Any]) -> Joined:
        obj = super().__new__(cls, " ".join(str(part) for part in parts))
        obj.parts = list(parts)
        return obj

    def coded(self) -> dict[str, Any]:
        return {"parts": [coded(part) for part in self.parts]}
