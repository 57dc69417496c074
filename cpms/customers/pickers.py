"""The customer picker: by name, pinyin (full or initials), customer number, or exactly an ID
number / phone (blind index), limited to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cpms.core.pickers import LIMIT, Option
from cpms.customers import selectors


def search_customers(*, user: Any, q: str, extra: Mapping[str, str]) -> Iterable[Option]:
    if not q:
        return []
    rows = list(
        selectors.customer_list(user=user, q=q, status=extra.get("status") or None).order_by(
            "legal_name", "pk"
        )[:LIMIT]
    )
    masked = selectors.customer_masked(rows)
    options = []
    for row, hidden in zip(rows, masked, strict=True):
        parts = (row.customer_number, hidden.get("identity_number", ""), str(row.branch or ""))
        detail = " · ".join(part for part in parts if part)
        options.append(Option(value=str(row.pk), label=row.legal_name, detail=detail))
    return options
