"""Scoped reads of loan servicing. Loans follow their customer's scope (through the holding);
out of scope looks exactly like missing (404)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.loans import position as positions
from cpms.loans.choices import Bucket
from cpms.loans.errors import LoanNotFound
from cpms.loans.models import (
    VIEW_PERMISSION,
    LoanAccrual,
    LoanRepayment,
    LoanServicing,
    RepaymentAllocation,
)


@dataclass
class LoanRow:
    holding: Holding
    servicing: LoanServicing | None
    position: positions.LoanPosition | None

    @property
    def bucket(self) -> str:
        return self.position.bucket if self.position else Bucket.NOT_DISBURSED


def visible_loans(user: Any, permission: str = VIEW_PERMISSION) -> QuerySet[Holding]:
    """Loan holdings (with terms) in the user's scope."""
    require_permission(user, permission)
    condition = scope_filter(user, permission, Holding)
    if condition is None:
        return Holding.objects.none()
    return (
        Holding.objects.filter(condition, kind=HoldingKind.LOAN, loan__isnull=False)
        .select_related("customer", "loan", "servicing")
        .order_by("pk")
    )


def loan_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Holding:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise LoanNotFound() from None
    holding = visible_loans(user, permission).filter(pk=key).first()
    if holding is None:
        raise LoanNotFound()
    return holding


def _servicing(holding: Holding) -> LoanServicing | None:
    try:
        return holding.servicing
    except LoanServicing.DoesNotExist:
        return None


def loan_position(
    loan: Holding | LoanServicing, as_of: datetime.date | None = None
) -> positions.LoanPosition | None:
    """Schedule against actual as of `as_of` (default today); None when not disbursed. The
    caller got `loan` through a scoped selector."""
    servicing = loan if isinstance(loan, LoanServicing) else _servicing(loan)
    if servicing is None:
        return None
    as_of = as_of or engine.today()
    return _positions([servicing], as_of)[servicing.pk]


def _positions(
    servicings: list[LoanServicing], as_of: datetime.date
) -> dict[int, positions.LoanPosition]:
    ids = [s.pk for s in servicings]
    accruals: dict[int, list] = defaultdict(list)
    for loan_id, through, amount in LoanAccrual.objects.filter(loan_id__in=ids).values_list(
        "loan_id", "through", "amount_minor"
    ):
        accruals[loan_id].append((through, amount))
    allocations: dict[int, list] = defaultdict(list)
    for loan_id, *row in RepaymentAllocation.objects.filter(loan_id__in=ids).values_list(
        "loan_id",
        "repayment__value_date",
        "instalment_number",
        "principal_minor",
        "interest_minor",
    ):
        allocations[loan_id].append(tuple(row))
    return {
        s.pk: positions.compute(
            servicing=s, as_of=as_of, accruals=accruals[s.pk], allocations=allocations[s.pk]
        )
        for s in servicings
    }


def loan_list(
    user: Any,
    *,
    as_of: datetime.date | None = None,
    bucket: str | None = None,
    overdue_only: bool = False,
) -> list[LoanRow]:
    """Every visible loan with its position (outstanding, days past due, bucket)."""
    as_of = as_of or engine.today()
    holdings = list(visible_loans(user))
    servicings = [s for s in (_servicing(h) for h in holdings) if s is not None]
    found = _positions(servicings, as_of)
    rows = []
    for holding in holdings:
        servicing = _servicing(holding)
        position = found.get(servicing.pk) if servicing else None
        row = LoanRow(holding=holding, servicing=servicing, position=position)
        if bucket and row.bucket != bucket:
            continue
        if overdue_only and not (position and position.days_past_due > 0):
            continue
        rows.append(row)
    if overdue_only:
        rows.sort(key=lambda r: (-r.position.days_past_due, r.holding.pk))
    return rows


def overdue_summary(rows: list[LoanRow]) -> list[dict[str, Any]]:
    """Per bucket: number of loans and overdue amount per currency."""
    summary: dict[str, dict[str, Any]] = {}
    for value, label in Bucket.choices:
        if value in (Bucket.CURRENT, Bucket.NOT_DISBURSED):
            continue
        summary[value] = {"bucket": value, "label": label, "loans": 0, "overdue": {}}
    for row in rows:
        if row.position is None or row.bucket not in summary:
            continue
        entry = summary[row.bucket]
        entry["loans"] += 1
        entry["overdue"][row.position.currency] = (
            entry["overdue"].get(row.position.currency, 0) + row.position.overdue_minor
        )
    return list(summary.values())


def repayment_list(loan: LoanServicing) -> QuerySet[LoanRepayment]:
    return LoanRepayment.objects.filter(loan=loan).order_by("sequence")
