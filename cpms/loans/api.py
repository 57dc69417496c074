"""API of loan servicing, mounted at /api/v1/loans/ (token scope area `ledger`). A loan is
addressed by its property item (holding) id. Reads need `ledger.view`, writes `ledger.post`;
both follow the customer's scope."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cpms.access.checks import require_permission
from cpms.core.pagination import keyset_page
from cpms.ledger import engine
from cpms.loans import selectors, services
from cpms.loans.choices import Bucket
from cpms.loans.models import POST_PERMISSION, VIEW_PERMISSION
from cpms.loans.schemas import (
    DisburseIn,
    EarlyRepayIn,
    LoanActionOut,
    LoanDetailOut,
    LoanPageOut,
    RepayIn,
)

router = Router(tags=["loans"])


class ListFilters(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = None
    as_of: datetime.date | None = Field(None, description="Position date (default today)")


def loan_summary(holding: Any, position: Any) -> dict[str, Any]:
    detail = holding.loan
    servicing = selectors._servicing(holding)
    terms = servicing.terms if servicing else None
    next_due = position.next_due if position else None
    return {
        "id": holding.pk,
        "holding_number": holding.holding_number,
        "customer_id": holding.customer_id,
        "customer_number": holding.customer.customer_number,
        "currency": servicing.currency if servicing else detail.currency,
        "principal_minor": servicing.principal_minor if servicing else detail.principal_minor,
        "annual_rate_percent": (
            terms["annual_rate_percent"]
            if terms
            else format(detail.annual_rate_percent.normalize(), "f")
        ),
        "term_months": terms["term_months"] if terms else detail.term_months,
        "method": terms["method"] if terms else detail.method,
        "start_date": terms["start_date"] if terms else detail.start_date,
        "disbursed": servicing is not None,
        "disbursed_on": servicing.disbursed_on if servicing else None,
        "state": position.state if position else Bucket.NOT_DISBURSED,
        "outstanding_principal_minor": position.outstanding_principal_minor if position else 0,
        "accrued_unpaid_interest_minor": position.accrued_unpaid_interest_minor if position else 0,
        "days_past_due": position.days_past_due if position else 0,
        "bucket": position.bucket if position else Bucket.NOT_DISBURSED,
        "next_due_on": next_due.due_on if next_due else None,
        "next_due_minor": next_due.outstanding_minor if next_due else None,
    }


def loan_detail(holding: Any, as_of: datetime.date | None = None) -> dict[str, Any]:
    as_of = as_of or engine.today()
    position = selectors.loan_position(holding, as_of)
    servicing = selectors._servicing(holding)
    instalments = []
    for line in position.instalments if position else []:
        instalments.append(
            {
                **line.__dict__,
                "outstanding_principal_minor": line.outstanding_principal_minor,
                "outstanding_interest_minor": line.outstanding_interest_minor,
                "outstanding_minor": line.outstanding_minor,
            }
        )
    return {
        **loan_summary(holding, position),
        "as_of": as_of,
        "instalments": instalments,
        "repayments": list(selectors.repayment_list(servicing)) if servicing else [],
    }


@router.get("", response=LoanPageOut, summary="List loans")
def loan_list(request: HttpRequest, filters: Query[ListFilters]) -> Any:
    """Loans in scope with outstanding principal, accrued interest, days past due and bucket;
    keyset-paginated by id (`limit`, `cursor`, `next_cursor`)."""
    require_permission(request.auth, VIEW_PERMISSION)
    rows, next_cursor = keyset_page(
        selectors.visible_loans(request.auth),
        limit=filters.limit,
        cursor=filters.cursor,
        ordering=("pk",),
    )
    as_of = filters.as_of or engine.today()
    items = [loan_summary(h, selectors.loan_position(h, as_of)) for h in rows]
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{loan_id}", response=LoanDetailOut, summary="One loan with its position")
def loan_get(request: HttpRequest, loan_id: int, as_of: datetime.date | None = None) -> Any:
    """Schedule against actual per instalment as of `as_of` (default today)."""
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.loan_get_for_user(user=request.auth, pk=loan_id)
    return loan_detail(holding, as_of)


def _action(request: HttpRequest, loan_id: int, outcome: Any) -> dict[str, Any]:
    holding = selectors.loan_get_for_user(user=request.auth, pk=loan_id)
    return {
        "replayed": outcome.replayed,
        "transfer_ids": [t.pk for t in outcome.transfers],
        "repayment": outcome.repayment,
        "loan": loan_detail(holding),
    }


@router.post("/{loan_id}/disburse", response=LoanActionOut, summary="Disburse a loan")
def loan_disburse(request: HttpRequest, loan_id: int, data: DisburseIn) -> Any:
    """Once per loan; the same request again answers the first disbursement (`replayed`)."""
    require_permission(request.auth, POST_PERMISSION)
    outcome = services.loan_disburse(
        actor=request.auth, holding=loan_id, value_date=data.value_date, to=data.to
    )
    return _action(request, loan_id, outcome)


@router.post("/{loan_id}/repay", response=LoanActionOut, summary="Record a repayment")
def loan_repay(request: HttpRequest, loan_id: int, data: RepayIn) -> Any:
    """Accrued interest first, then principal due, then (`prepay`) principal not yet due;
    more than owed is refused with 422 `loans.overpayment`."""
    require_permission(request.auth, POST_PERMISSION)
    outcome = services.loan_repay(
        actor=request.auth,
        holding=loan_id,
        amount_minor=data.amount_minor,
        value_date=data.value_date,
        source=data.source,
        prepay=data.prepay,
        idempotency_key=data.idempotency_key,
    )
    return _action(request, loan_id, outcome)


@router.post("/{loan_id}/early-repay", response=LoanActionOut, summary="Repay a loan early")
def loan_repay_early(request: HttpRequest, loan_id: int, data: EarlyRepayIn) -> Any:
    """Settles all outstanding principal and accrued interest (plus the early-repayment fee)."""
    require_permission(request.auth, POST_PERMISSION)
    outcome = services.loan_repay_early(
        actor=request.auth,
        holding=loan_id,
        value_date=data.value_date,
        source=data.source,
        fee_bps=data.fee_bps,
        idempotency_key=data.idempotency_key,
    )
    return _action(request, loan_id, outcome)
