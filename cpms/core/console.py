"""Small helpers shared by the console views of every app."""

from __future__ import annotations

from collections.abc import Mapping
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
    aliases: Mapping[str, str | None] | None = None,
    fallback: str | None = None,
    field: str | None = None,
    nested: Mapping[str, Any] | None = None,
    named: bool = False,
    unknown: str = "form",
    summary: str | None = None,
) -> None:
    """Put a service refusal on a console form, so every console view shows refusals alike.

    Each field message goes next to the field the service names: through `aliases` when the
    form calls it differently (an alias of `tiers` also covers `tiers.0.code`; `None` means
    "no field": a form error), onto a `nested` form when its prefix names one (`details.number`
    onto the "number" field of `nested["details"]`; `None` forms are skipped), else onto the
    form itself (a form with a `field_for_error(name)` method maps names it knows, e.g. custom
    fields); a field the form lacks becomes a form error. With `named`, a message that is
    not shown next to a field of exactly the service's name reads "name: message", so the person
    knows which part of the input it is about. A refusal naming no field shows `fallback`
    (default: the error's message) on `field` (default: the form as a whole). With
    `unknown="skip"`, details the form has no field for (row numbers, structured values) are
    left to `summary` — one form error always shown (e.g. `error_text(exc)`, which names them) —
    or, without a summary, to `fallback` when nothing was placed."""
    aliases = aliases or {}
    forms = {prefix: sub for prefix, sub in (nested or {}).items() if sub is not None}
    placed = 0
    for name, message in exc.fields.items():
        target, place, shown_as = _error_place(form, name, aliases, forms)
        if unknown == "skip" and (place is None or not isinstance(message, str)):
            continue
        text = f"{name}: {message}" if named and shown_as != name else str(message)
        target.add_error(place, text)
        placed += 1
    if summary is not None:
        form.add_error(None, summary)
    elif not placed:
        form.add_error(field, fallback if fallback is not None else exc.message)


def _alias(name: str, aliases: Mapping[str, str | None]) -> str | None:
    """The form's name for a service field: the alias of the name or of its longest dotted
    prefix (`tiers.0.code` -> the alias of `tiers`), else the name itself."""
    head = name
    while head not in aliases:
        head, dot, _rest = head.rpartition(".")
        if not dot:
            return name
    return aliases[head]


def _error_place(
    form: Any, name: str, aliases: Mapping[str, str | None], forms: Mapping[str, Any]
) -> tuple[Any, str | None, str | None]:
    """Where a field message belongs: the form, its field (None: the form's own errors), and
    that place under the service's naming (`details.number`; None for a form error)."""
    for prefix, sub in forms.items():
        if name.startswith(f"{prefix}."):
            leaf = _alias(name[len(prefix) + 1 :], aliases)
            if leaf is not None and leaf in sub.fields:
                return sub, leaf, f"{prefix}.{leaf}"
    target = _alias(name, aliases)
    if target is not None and target not in form.fields and hasattr(form, "field_for_error"):
        target = form.field_for_error(target)  # a form that names its own inputs (custom fields)
    if target is not None and target in form.fields:
        return form, target, target
    return form, None, None
