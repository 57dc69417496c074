"""Small helpers shared by the console views of every app."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, QueryDict

from cpms.core.errors import CpmsError
from cpms.core.pagination import keyset_page

PAGE_SIZE = 25


def error_text(exc: CpmsError) -> str:
    """A domain error as one line for `messages.error`: its message and its field messages."""
    details = "; ".join(
        value for value in exc.fields.values() if isinstance(value, str) and value != exc.message
    )
    return f"{exc.message} {details}".strip()


def console_page(
    request: HttpRequest,
    queryset: Any,
    *,
    ordering: tuple[str, ...] = ("-pk",),
    limit: int = PAGE_SIZE,
) -> tuple[list[Any], str | None, QueryDict]:
    """One keyset page of `queryset` for a console list: the rows, the next cursor, and the
    request's query without its cursor (for the "next page" link). A forged cursor is a 404."""
    try:
        rows, next_cursor = keyset_page(
            queryset, limit=limit, cursor=request.GET.get("cursor") or None, ordering=ordering
        )
    except CpmsError as exc:
        raise Http404 from exc
    query = request.GET.copy()
    query.pop("cursor", None)
    return rows, next_cursor, query


def form_errors(
    form: Any,
    exc: CpmsError,
    *,
    aliases: dict[str, str | None] | None = None,
    fallback: str | None = None,
) -> None:
    """Put a service refusal on a console form: each field message next to its field (named
    through `aliases` when the form calls it differently; unknown fields become form errors),
    and, when the refusal names no field, `fallback` (default: the error's message)."""
    aliases = aliases or {}
    for name, message in exc.fields.items():
        target = aliases.get(name, name)
        form.add_error(target if target in form.fields else None, str(message))
    if not exc.fields:
        form.add_error(None, fallback if fallback is not None else exc.message)
