"""Demo loan servicing for the demo's loan holdings (`DEMO-LN-*`, made by cpms/holdings/demo.py):
every loan starting in the past is disbursed on its start date; the loan with the earliest start
stops paying about two months ago (more than 30 days past due), the next one is repaid early,
the others pay every instalment on its due date; then interest is accrued through today.

No randomness is drawn: everything follows from the stored holdings, and every step checks
what exists (repayments carry the key `demo:<date>`), so running it again creates nothing."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from cpms.access.actors import actor_for, staff_with
from cpms.core.errors import CpmsError
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.loans import selectors, services
from cpms.loans.choices import LoanState, PaidFrom
from cpms.loans.models import POST_PERMISSION, LoanRepayment, LoanServicing
from cpms.loans.position import schedule_for

logger = logging.getLogger("cpms.loans")
LATE_STOP_DAYS = 70  # the late loan pays nothing due within the last 70 days


def _pay_due(actor: Any, holding: Holding, due: datetime.date, source: str) -> bool:
    servicing = LoanServicing.objects.get(holding=holding)
    key = f"demo:{due.isoformat()}"
    if LoanRepayment.objects.filter(loan=servicing, idempotency_key=key).exists():
        return False
    if servicing.state != LoanState.ACTIVE or due < servicing.last_event_on:
        return False
    services.loan_accrue(actor=actor, holding=holding, as_of=due)
    position = selectors.loan_position(servicing, due)
    amount = position.accrued_unpaid_interest_minor + sum(
        line.outstanding_principal_minor for line in position.instalments if line.due_on <= due
    )
    if amount <= 0:
        return False
    services.loan_repay(
        actor=actor,
        holding=holding,
        amount_minor=amount,
        value_date=due,
        source=source,
        prepay=False,
        idempotency_key=key,
    )
    return True


def _service(actor: Any, holding: Holding, role: str, today: datetime.date) -> list[str]:
    created: list[str] = []
    detail = holding.loan
    if detail.start_date >= today:
        return created
    servicing = LoanServicing.objects.filter(holding=holding).first()
    if servicing is None:
        to = PaidFrom.CUSTOMER_CASH if role == "on_time" else PaidFrom.CLIENT_BANK
        servicing = services.loan_disburse(
            actor=actor, holding=holding, value_date=detail.start_date, to=to
        ).servicing
        created.append(f"loan {holding.holding_number} disbursed")
    dues = [line.due_on for line in schedule_for(servicing.terms)]
    if role == "late":
        dues = [due for due in dues if due <= today - datetime.timedelta(days=LATE_STOP_DAYS)]
    elif role == "early":
        dues = [due for due in dues if due < today][:2]
    else:
        dues = [due for due in dues if due <= today]
    paid = sum(_pay_due(actor, holding, due, PaidFrom.CLIENT_BANK) for due in dues)
    if paid:
        created.append(f"loan {holding.holding_number}: {paid} repayment(s)")
    if role == "early" and len(dues) == 2:
        servicing.refresh_from_db()
        when = min(dues[-1] + datetime.timedelta(days=10), today)
        if servicing.state == LoanState.ACTIVE and when >= servicing.last_event_on:
            services.loan_repay_early(
                actor=actor,
                holding=holding,
                value_date=when,
                source=PaidFrom.CLIENT_BANK,
                idempotency_key="demo:early",
            )
            created.append(f"loan {holding.holding_number} repaid early")
    return created


def load(*, rng: Any, options: dict[str, Any]) -> list[str]:
    today = engine.today()
    users = staff_with(POST_PERMISSION)
    if not users:
        return []
    loans = list(
        Holding.objects.filter(kind="loan", identifier__startswith="DEMO-LN-", loan__isnull=False)
        .select_related("loan", "customer")
        .order_by("loan__start_date", "pk")
    )
    # only loans some member of staff may post for (the demo finance officer has one branch)
    served = [(holding, actor_for(holding, users, POST_PERMISSION)) for holding in loans]
    served = [(holding, actor) for holding, actor in served if actor is not None]
    created: list[str] = []
    for index, (holding, actor) in enumerate(served):
        role = {0: "late", 1: "early"}.get(index, "on_time")
        try:
            created.extend(_service(actor, holding, role, today))
        except CpmsError as exc:  # e.g. a closed period: leave this loan as it is
            logger.warning("demo loan %s not serviced: %s %s", holding.pk, exc.message, exc.fields)
    if loans:
        summary = services.loans_accrue(actor=None, as_of=today)
        if summary["loans"]:
            created.append(f"interest accrued on {summary['loans']} loan(s)")
    return created
