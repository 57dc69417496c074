"""Schedule against actual, computed from stored rows (pure functions, no queries).

- Interest due on an instalment is the interest actually accrued in its period (the days after
  the previous due date through its own due date; accrual after the last due date belongs to
  the last instalment). Accrual runs are split at due dates, so each accrual row belongs to
  exactly one period. The schedule's own interest figure is shown next to it.
- Principal due on an instalment is its scheduled principal.
- Paid amounts come from `RepaymentAllocation` rows (written at repayment time, in order).
- An instalment is past due from the day after its due date while anything of it is unpaid;
  the loan's days past due are those of its oldest unpaid instalment."""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cpms.holdings import loans as schedules
from cpms.loans.choices import Bucket, LoanState, bucket_for


@dataclass
class InstalmentPosition:
    number: int
    due_on: datetime.date
    scheduled_principal_minor: int
    scheduled_interest_minor: int
    accrued_interest_minor: int = 0
    paid_principal_minor: int = 0
    paid_interest_minor: int = 0
    days_past_due: int = 0

    @property
    def outstanding_principal_minor(self) -> int:
        return self.scheduled_principal_minor - self.paid_principal_minor

    @property
    def outstanding_interest_minor(self) -> int:
        return self.accrued_interest_minor - self.paid_interest_minor

    @property
    def outstanding_minor(self) -> int:
        return self.outstanding_principal_minor + self.outstanding_interest_minor

    @property
    def paid(self) -> bool:
        return self.outstanding_minor == 0


@dataclass
class LoanPosition:
    holding_id: int
    as_of: datetime.date
    currency: str
    disbursed: bool
    state: str = ""
    principal_minor: int = 0
    outstanding_principal_minor: int = 0
    accrued_unpaid_interest_minor: int = 0
    days_past_due: int = 0
    bucket: str = Bucket.NOT_DISBURSED
    instalments: list[InstalmentPosition] = field(default_factory=list)

    @property
    def outstanding_minor(self) -> int:
        return self.outstanding_principal_minor + self.accrued_unpaid_interest_minor

    @property
    def next_due(self) -> InstalmentPosition | None:
        """The first instalment falling due on or after `as_of` that is not fully paid."""
        for line in self.instalments:
            if line.due_on >= self.as_of and not line.paid:
                return line
        return None

    @property
    def overdue_minor(self) -> int:
        return sum(line.outstanding_minor for line in self.instalments if line.days_past_due)


def schedule_for(terms: dict[str, Any]) -> list[schedules.Line]:
    return schedules.schedule(
        principal_minor=int(terms["principal_minor"]),
        annual_rate_percent=Decimal(str(terms["annual_rate_percent"])),
        term_months=int(terms["term_months"]),
        method=terms["method"],
        start_date=datetime.date.fromisoformat(terms["start_date"]),
    )


def period_index(due_dates: list[datetime.date], day: datetime.date) -> int:
    """Index of the instalment whose period holds `day` (after the last due date: the last)."""
    return min(bisect.bisect_left(due_dates, day), len(due_dates) - 1)


def compute(
    *,
    servicing: Any,
    as_of: datetime.date,
    accruals: Iterable[tuple[datetime.date, int]],
    allocations: Iterable[tuple[datetime.date, int, int, int]],
) -> LoanPosition:
    """`accruals`: (through, amount); `allocations`: (value date, instalment number, principal,
    interest). Rows dated after `as_of` are ignored."""
    lines = schedule_for(servicing.terms)
    rows = [
        InstalmentPosition(
            number=line.number,
            due_on=line.due_on,
            scheduled_principal_minor=line.principal_minor,
            scheduled_interest_minor=line.interest_minor,
        )
        for line in lines
    ]
    due_dates = [row.due_on for row in rows]
    accrued = 0
    for through, amount in accruals:
        if through <= as_of:
            rows[period_index(due_dates, through)].accrued_interest_minor += amount
            accrued += amount
    paid_principal = paid_interest = 0
    for value_date, number, principal, interest in allocations:
        if value_date <= as_of:
            row = rows[number - 1]
            row.paid_principal_minor += principal
            row.paid_interest_minor += interest
            paid_principal += principal
            paid_interest += interest
    oldest = 0
    for row in rows:
        if row.due_on < as_of and not row.paid:
            row.days_past_due = (as_of - row.due_on).days
            oldest = max(oldest, row.days_past_due)
    repaid = servicing.state == LoanState.REPAID and servicing.closed_on <= as_of
    return LoanPosition(
        holding_id=servicing.holding_id,
        as_of=as_of,
        currency=servicing.currency,
        disbursed=servicing.disbursed_on <= as_of,
        state=LoanState.REPAID if repaid else LoanState.ACTIVE,
        principal_minor=servicing.principal_minor,
        outstanding_principal_minor=servicing.principal_minor - paid_principal,
        accrued_unpaid_interest_minor=accrued - paid_interest,
        days_past_due=oldest,
        bucket=bucket_for(oldest) if servicing.disbursed_on <= as_of else Bucket.NOT_DISBURSED,
        instalments=rows,
    )
