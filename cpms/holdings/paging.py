"""Console list pages of property and custody: one keyset page (cpms.core.pagination) plus
what a person needs to find their way — "1–25 of 1,234", the next page and the previous one.

The lists are ordered newest first (`-pk`), so the position of a page is the number of rows
with a larger key (an index range count) and the previous page's cursor is found by walking
back `limit` rows; both stay cheap with 10,000 rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from cpms.core.console import console_page
from cpms.core.pagination import encode_cursor


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    first: int
    last: int
    total: int
    next_cursor: str | None
    previous_cursor: str | None  # "" = the first page
    query: str  # the request's query without the cursor

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def summary(self) -> str:
        if not self.total:
            return ""
        return _("%(first)s–%(last)s of %(total)s") % {
            "first": f"{self.first:,}",
            "last": f"{self.last:,}",
            "total": f"{self.total:,}",
        }

    def link(self, cursor: str | None) -> str:
        parts = [self.query] if self.query else []
        if cursor:
            parts.append(f"cursor={cursor}")
        return "?" + "&".join(parts)

    @property
    def first_link(self) -> str:
        return self.link(None)

    @property
    def next_link(self) -> str:
        return self.link(self.next_cursor)

    @property
    def previous_link(self) -> str:
        return self.link(self.previous_cursor)


def list_page(request: HttpRequest, queryset: Any, *, limit: int) -> Page:
    """One page of `queryset` (newest first) with its position, total and neighbours."""
    rows, next_cursor, query = console_page(request, queryset, limit=limit)
    total = queryset.order_by().count()
    previous_cursor: str | None = None
    first = last = 0
    if rows:
        newer = queryset.order_by("pk").filter(pk__gt=rows[0].pk)
        before = newer.count()
        first, last = before + 1, before + len(rows)
        if before:
            # the row just above the previous page is `limit` rows up: its key is the cursor
            keys = list(newer.values_list("pk", flat=True)[: limit + 1])
            previous_cursor = encode_cursor([keys[limit]]) if len(keys) > limit else ""
    return Page(
        rows=rows,
        first=first,
        last=last,
        total=total,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        query=query.urlencode(),
    )
