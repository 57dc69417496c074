"""The property item picker ("holding"): by property number, identifier, description or the
owner's name / customer number, limited to the user's scope (the holdings list's selector)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cpms.core.pickers import LIMIT, Option
from cpms.holdings import selectors
from cpms.holdings.choices import HoldingKind, HoldingStatus

# what a form may ask the picker to scope by (f_permission=…); anything else falls back to view
SCOPING_PERMISSIONS = frozenset({"holdings.view", "holdings.manage", "custody.operate"})


def holding_label(holding: Any) -> str:
    return " ".join(part for part in (holding.holding_number, holding.description) if part)


def search_holdings(*, user: Any, q: str, extra: Mapping[str, str]) -> Iterable[Option]:
    if not q:
        return []
    permission = extra.get("permission", "holdings.view")
    if permission not in SCOPING_PERMISSIONS:
        permission = "holdings.view"
    kind = extra.get("kind") or None
    status = extra.get("status") or None
    customer = extra.get("customer") or ""
    rows = selectors.holding_list(
        user=user,
        q=q,
        kind=kind if kind in HoldingKind.values else None,
        status=status if status in HoldingStatus.values else None,
        customer=int(customer) if customer.isdigit() else None,
        permission=permission,
    ).order_by("-pk")[:LIMIT]
    options = []
    for row in rows:
        parts = (
            str(row.get_kind_display()),
            row.identifier if row.identifier != row.description else "",
            f"{row.customer.legal_name} ({row.customer.customer_number})",
        )
        options.append(
            Option(
                value=str(row.pk),
                label=holding_label(row),
                detail=" · ".join(part for part in parts if part),
            )
        )
    return options
