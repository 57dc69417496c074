"""One pagination convention for every list: `limit` + opaque `cursor` (keyset pagination).

A page is fetched with `WHERE (ordering columns) > (values of the last row seen)`, so the cost
of page 1,000 equals the cost of page 1 and rows inserted meanwhile neither repeat nor vanish.
The cursor is the last row's ordering values, JSON in URL-safe base64; clients treat it as
opaque. The console and the API use the same function.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from cpms.core.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class _CursorEncoder(DjangoJSONEncoder):
    """Like Django's encoder but keeps microseconds: a cursor that rounds a timestamp would
    skip rows whose ordering value falls inside the rounded-off part."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), cls=_CursorEncoder, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != width:
        raise _invalid_cursor()
    return values


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        _("The cursor is not valid."),
        fields={"cursor": _("Use the next_cursor value returned by the previous page.")},
    )


def _after(ordering: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (each field may be descending with '-').

    The OR of "equal on the first i-1 fields, beyond on field i" is exact; the leading range on
    the first field is redundant but lets the database walk an index instead of scanning."""
    first = ordering[0]
    lead = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": values[0]})
    condition = Q(pk__in=[])
    for index, field in enumerate(ordering):
        name = field.lstrip("-")
        lookup = "lt" if field.startswith("-") else "gt"
        step = Q(**{f"{name}__{lookup}": values[index]})
        for previous, value in zip(ordering[:index], values[:index], strict=True):
            step &= Q(**{previous.lstrip("-"): value})
        condition |= step
    return lead & condition


def _value(row: Any, field: str) -> Any:
    value = row
    for part in field.lstrip("-").split("__"):
        value = getattr(value, part)
    return value


def keyset_page(
    queryset: QuerySet,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    ordering: Sequence[str] = ("pk",),
) -> tuple[list[Any], str | None]:
    """Return one page of `queryset` and the cursor of the next page (None on the last).

    The last ordering field must be unique (normally the primary key) so the order is total.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            _("The limit is out of range."),
            fields={"limit": _("Use a number from 1 to %(max)d.") % {"max": MAX_LIMIT}},
        )
    ordering = tuple(ordering)
    queryset = queryset.order_by(*ordering)
    if cursor:
        queryset = queryset.filter(_after(ordering, decode_cursor(cursor, width=len(ordering))))
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([_value(rows[-1], field) for field in ordering])


class CursorPagination(PaginationBase):
    """Django Ninja pagination class for `@paginate(CursorPagination, ordering=(...))`."""

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
        cursor: str | None = Field(None, description="next_cursor of the previous page.")

    class Output(Schema):
        items: list[Any]
        next_cursor: str | None = Field(
            None, description="Pass as `cursor` to get the next page; null on the last page."
        )

    items_attribute = "items"

    def __init__(self, *, ordering: Sequence[str] = ("pk",), **kwargs: Any) -> None:
        self.ordering = tuple(ordering)
        super().__init__(**kwargs)

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        items, next_cursor = keyset_page(
            queryset, limit=pagination.limit, cursor=pagination.cursor, ordering=self.ordering
        )
        return {"items": items, "next_cursor": next_cursor}
