"""Interest accrual: per day on the principal outstanding at the end of the previous day
(actual/365), split at instalment due dates, one ledger transfer per part keyed
`loan:<holding id>:accrue:<date>`."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.holdings.models import Holding
from cpms.loans.choices import LoanState
from cpms.loans.models import POST_PERMISSION, LoanServicing
from cpms.loans.services._shared import (
    _accrual_audit,
    _accrue_locked,
    check_date,
    holding_in_scope,
    locked_servicing,
    today,
)


def loan_accrue(*, actor: Any, holding: Holding | int, as_of: datetime.date | None = None) -> int:
    """Accrue one loan's interest through `as_of` (default today); returns the amount posted."""
    require_permission(actor, POST_PERMISSION)
    as_of = as_of or today()
    check_date("as_of", as_of)
    with transaction.atomic():
        holding = holding_in_scope(actor, holding)
        servicing = locked_servicing(holding)
        rows = _accrue_locked(actor, servicing, as_of)
        if rows:
            _accrual_audit(actor, servicing, rows)
    return sum(row.amount_minor for row in rows)


def loans_accrue(*, actor: Any = None, as_of: datetime.date | None = None) -> dict[str, int]:
    """Accrue every active loan through `as_of` (the daily job; `actor` None = the system).
    Each loan commits on its own; running it again for the same day posts nothing."""
    if actor is not None:
        require_permission(actor, POST_PERMISSION)
    as_of = as_of or today()
    check_date("as_of", as_of)
    summary = {"loans": 0, "accrued_minor": 0}
    pending = LoanServicing.objects.filter(state=LoanState.ACTIVE, accrued_through__lt=as_of)
    if actor is not None:
        condition = scope_filter(actor, POST_PERMISSION, Holding)
        if condition is None:
            return summary
        pending = pending.filter(holding__in=Holding.objects.filter(condition).values("pk"))
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            servicing = (
                LoanServicing.objects.select_for_update()
                .select_related("holding", "interest_account__asset")
                .get(pk=pk)
            )
            rows = _accrue_locked(actor, servicing, as_of)
            if rows:
                _accrual_audit(actor, servicing, rows)
                summary["loans"] += 1
                summary["accrued_minor"] += sum(row.amount_minor for row in rows)
    return summary
