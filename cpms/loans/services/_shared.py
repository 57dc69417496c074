"""What the loan services share: the outcome of a write, the loan in the actor's scope, its
locked servicing row, value-date checks, the cash account a payment moves through, and the
accrual of a locked loan (the accrual services and every repayment run it)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from cpms.access.scopes import scope_filter
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.loans import position as positions
from cpms.loans.choices import LoanState, PaidFrom
from cpms.loans.errors import LoanNotFound, NotDisbursed
from cpms.loans.models import (
    ACCRUAL_DENOMINATOR,
    POST_PERMISSION,
    RATE_SCALE,
    LoanAccrual,
    LoanRepayment,
    LoanServicing,
)

OBJECT_TYPE = "holdings.holding"


@dataclass(frozen=True)
class Outcome:
    servicing: LoanServicing
    transfers: list[Transfer]
    replayed: bool = False
    repayment: LoanRepayment | None = None


def today() -> datetime.date:
    return engine.today()


def holding_in_scope(actor: Any, holding: Holding | int) -> Holding:
    pk = holding.pk if isinstance(holding, Holding) else holding
    condition = scope_filter(actor, POST_PERMISSION, Holding)
    found = None
    if condition is not None:
        found = Holding.objects.filter(condition, pk=pk).select_related("customer").first()
    if found is None or found.kind != HoldingKind.LOAN:
        raise LoanNotFound(fields={"holding_id": str(pk)})
    return found


def locked_servicing(holding: Holding) -> LoanServicing:
    servicing = (
        LoanServicing.objects.select_for_update()
        .select_related("principal_account__asset", "interest_account__asset")
        .filter(holding=holding)
        .first()
    )
    if servicing is None:
        raise NotDisbursed(fields={"holding_id": str(holding.pk)})
    return servicing


def check_date(name: str, value: datetime.date) -> None:
    if not isinstance(value, datetime.date):
        raise ValidationFailed(fields={name: _("Give a date (YYYY-MM-DD).")})
    if value > today():
        raise ValidationFailed(
            fields={name: _("%(date)s is in the future.") % {"date": value.isoformat()}}
        )


def cash_account(holding: Holding, source: str, currency: str, actor: Any) -> Account:
    if source == PaidFrom.CUSTOMER_CASH:
        return ledger.customer_account(
            customer=holding.customer,
            purpose=AccountPurpose.CUSTOMER_CASH,
            asset_code=currency,
            actor=actor,
        )
    if source == PaidFrom.CLIENT_BANK:
        return ledger.internal_account(
            asset_code=currency, purpose=AccountPurpose.CLIENT_BANK, actor=actor
        )
    raise ValidationFailed(
        fields={"source": _("Choose customer_cash or client_bank, not %(v)r.") % {"v": source}}
    )


# ------------------------------------------------------------------------ accrual
# (run by the accrual services and, through the value date, by every repayment)


def _round(numerator: int) -> int:
    return int(
        (Decimal(numerator) / Decimal(ACCRUAL_DENOMINATOR)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )


def _accrue_locked(
    actor: Any, servicing: LoanServicing, through: datetime.date
) -> list[LoanAccrual]:
    """Accrue `servicing` (locked) through `through`; no audit entry (the caller records it)."""
    if through <= servicing.accrued_through or servicing.state != LoanState.ACTIVE:
        return []
    lines = positions.schedule_for(servicing.terms)
    rate_scaled = int(Decimal(servicing.terms["annual_rate_percent"]) * RATE_SCALE)
    principal = servicing.principal_outstanding_minor
    numerator = int(servicing.accrued_numerator)
    ends = sorted(
        {line.due_on for line in lines if servicing.accrued_through < line.due_on < through}
        | {through}
    )
    start = servicing.accrued_through
    income = None
    rows: list[LoanAccrual] = []
    for end in ends:
        days = (end - start).days
        numerator += principal * rate_scaled * days
        amount = _round(numerator) - servicing.interest_accrued_minor
        transfer = None
        if amount > 0:
            if income is None:
                income = ledger.internal_account(
                    asset_code=servicing.currency, purpose=AccountPurpose.INTEREST, actor=actor
                )
            transfer = ledger.post_internal(
                actor=actor,
                specs=[
                    ledger.TransferSpec(
                        debit_account=servicing.interest_account,
                        credit_account=income,
                        amount=amount,
                        reference=f"{servicing.holding.holding_number} interest {end}"[:140],
                        value_date=end,
                        metadata={
                            "loan": servicing.holding_id,
                            "loan_number": servicing.holding.holding_number,
                            "event": "accrue",
                            "days": days,
                            "through": end.isoformat(),
                        },
                        idempotency_key=f"loan:{servicing.holding_id}:accrue:{end.isoformat()}",
                    )
                ],
            ).transfers[0]
        rows.append(
            LoanAccrual.objects.create(
                loan=servicing,
                through=end,
                days=days,
                principal_minor=principal,
                numerator=str(numerator),
                amount_minor=amount,
                transfer=transfer,
            )
        )
        servicing.interest_accrued_minor += amount
        start = end
    servicing.accrued_numerator = str(numerator)
    servicing.accrued_through = through
    servicing.save(update_fields=["accrued_numerator", "accrued_through", "interest_accrued_minor"])
    return rows


def _accrual_audit(actor: Any, servicing: LoanServicing, rows: list[LoanAccrual]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.LOAN_INTEREST_ACCRUED,
        object_type=OBJECT_TYPE,
        object_id=servicing.holding_id,
        after={
            "through": rows[-1].through.isoformat(),
            "amount_minor": sum(row.amount_minor for row in rows),
            "interest_accrued_minor": servicing.interest_accrued_minor,
            "transfer_ids": [row.transfer_id for row in rows if row.transfer_id],
        },
    )
