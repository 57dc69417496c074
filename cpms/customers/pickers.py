"""The customer picker: by name, pinyin (full or initials), customer number, or exactly an ID
number / phone (blind index), limited to the user's scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cpms.access.checks import permission_scopes
from cpms.access.choices import Scope
from cpms.access.models import Grant
from cpms.core.pickers import LIMIT, Option
from cpms.customers import selectors
from cpms.customers.models import MANAGE_PERMISSION
from cpms.users.pickers import staff_options, staff_queryset

# what a form may ask the picker to scope by (f_permission=…): the customers a person may
# record purchases for, take property from or post for. Anything else falls back to view.
SCOPING_PERMISSIONS = frozenset(
    {
        "customers.view",
        "customers.manage",
        "retail.view",
        "retail.manage",
        "holdings.view",
        "holdings.manage",
        "ledger.view",
        "ledger.post",
        "custody.operate",
    }
)


def search_customers(*, user: Any, q: str, extra: Mapping[str, str]) -> Iterable[Option]:
    if not q:
        return []
    permission = extra.get("permission", "customers.view")
    if permission not in SCOPING_PERMISSIONS:
        permission = "customers.view"
    rows = list(
        selectors.customer_list(
            user=user, q=q, status=extra.get("status") or None, permission=permission
        ).order_by("legal_name", "pk")[:LIMIT]
    )
    masked = selectors.customer_masked(rows)
    options = []
    for row, hidden in zip(rows, masked, strict=True):
        parts = (row.customer_number, hidden.get("identity_number", ""), str(row.branch or ""))
        detail = " · ".join(part for part in parts if part)
        options.append(Option(value=str(row.pk), label=row.legal_name, detail=detail))
    return options


def relationship_manager_queryset(*, user: Any) -> Any:
    """People the user may make a customer's relationship manager: active staff who may manage
    customers (an active grant with customers.manage), within the staff picker's reach (the
    user's `users.view` scope, or their own branch). Someone who manages only their assigned
    customers may assign only themselves (anyone else would take the customer out of their
    scope)."""
    reach = {scope for scope, _branch in permission_scopes(user, MANAGE_PERMISSION)}
    if not reach & {Scope.ALL, Scope.BRANCH}:
        return staff_queryset(user=user).filter(pk=user.pk)
    holders = Grant.objects.filter(
        revoked_at__isnull=True, role__is_active=True, role__permissions__code=MANAGE_PERMISSION
    ).values("user_id")
    return staff_queryset(user=user).filter(pk__in=holders)


def search_relationship_managers(
    *, user: Any, q: str, extra: Mapping[str, str]
) -> Iterable[Option]:
    return staff_options(relationship_manager_queryset(user=user), q)
