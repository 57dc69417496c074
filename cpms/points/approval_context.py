"""What a checker reads about a points adjustment (`points.adjust`): the customer, the points
added or taken, and the customer's points balance now and after approval."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, BalanceChange, rows
from cpms.core.money import format_minor
from cpms.customers.approval_context import customer_blocks, customers_by_id
from cpms.points import selectors


def _points(value: int) -> str:
    return format_minor(value, "PTS")


def adjustment_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    customer = customers_by_id([payload.get("customer_id")]).get(payload.get("customer_id"))
    points = payload.get("points")
    points = points if isinstance(points, int) and not isinstance(points, bool) else None
    signed = f"{points:+,} PTS" if points is not None else ""
    warnings: list[str] = []
    balances: tuple[BalanceChange, ...] = ()
    blocks = ()
    if customer is None:
        warnings.append(_("This customer no longer exists."))
        name = str(payload.get("customer_id") or "?")
    else:
        name = customer.legal_name
        blocks = customer_blocks([customer], viewer=viewer)
        if points is not None:
            now = selectors.balance(customer)
            after = now + points
            balances = (
                BalanceChange(
                    account=_("%(name)s · points") % {"name": name},
                    before=_points(now),
                    after=_points(after),
                    warning=_("The customer does not have this many points now.")
                    if after < 0
                    else "",
                ),
            )
    title = _("Adjust the points of %(name)s by %(points)s") % {"name": name, "points": signed}
    return ApprovalContext(
        title=title,
        amount=signed,
        rows=rows((_("Why"), payload.get("reason") or "")),
        customers=blocks,
        balances=balances,
        warnings=tuple(warnings),
    )
