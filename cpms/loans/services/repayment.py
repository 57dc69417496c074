"""Repayment and early repayment: accrue through the value date, allocate (accrued interest,
then principal due, then principal not yet due), post, record, update the servicing, audit."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import IdempotencyConflict
from cpms.ledger.models import Account, Transfer
from cpms.loans import position as positions
from cpms.loans.choices import LOAN_STATES, LoanState, PaidFrom
from cpms.loans.errors import Backdated, InvalidLoan, LoanClosed, Overpayment
from cpms.loans.models import (
    POST_PERMISSION,
    LoanAccrual,
    LoanRepayment,
    LoanServicing,
    RepaymentAllocation,
)
from cpms.loans.services._shared import (
    OBJECT_TYPE,
    Outcome,
    _accrual_audit,
    _accrue_locked,
    cash_account,
    check_date,
    holding_in_scope,
    locked_servicing,
    today,
)


def _position(servicing: LoanServicing, as_of: datetime.date) -> positions.LoanPosition:
    accruals = LoanAccrual.objects.filter(loan=servicing).values_list("through", "amount_minor")
    allocations = RepaymentAllocation.objects.filter(loan=servicing).values_list(
        "repayment__value_date", "instalment_number", "principal_minor", "interest_minor"
    )
    return positions.compute(
        servicing=servicing, as_of=as_of, accruals=list(accruals), allocations=list(allocations)
    )


def _allocate(
    servicing: LoanServicing,
    value_date: datetime.date,
    amount: int,
    *,
    prepay: bool,
) -> tuple[int, int, list[tuple[positions.InstalmentPosition, int, int]]]:
    """(interest, principal, [(instalment, principal, interest)]) for paying `amount`."""
    position = _position(servicing, value_date)
    interest_due = position.accrued_unpaid_interest_minor
    principal_due = sum(
        line.outstanding_principal_minor
        for line in position.instalments
        if line.due_on <= value_date
    )
    principal_all = position.outstanding_principal_minor
    limit = interest_due + (principal_all if prepay else principal_due)
    if amount > limit:
        raise Overpayment(
            fields={
                "amount_minor": _(
                    "At most %(limit)s can be paid on %(date)s (accrued interest %(interest)s, "
                    "principal %(kind)s %(principal)s)."
                )
                % {
                    "limit": limit,
                    "date": value_date.isoformat(),
                    "interest": interest_due,
                    "kind": _("outstanding") if prepay else _("due"),
                    "principal": principal_all if prepay else principal_due,
                }
            }
        )
    to_interest = min(amount, interest_due)
    to_principal = amount - to_interest
    shares: list[tuple[positions.InstalmentPosition, int, int]] = []
    left_interest, left_principal = to_interest, to_principal
    for line in position.instalments:
        interest = min(left_interest, max(line.outstanding_interest_minor, 0))
        principal = min(left_principal, max(line.outstanding_principal_minor, 0))
        left_interest -= interest
        left_principal -= principal
        if interest or principal:
            shares.append((line, principal, interest))
    if left_interest or left_principal:  # cannot happen: the limits come from the same rows
        raise InvalidLoan(fields={"amount_minor": _("The amount could not be allocated.")})
    return to_interest, to_principal, shares


@dataclass(frozen=True)
class _Allocation:
    """How a repayment is split: accrued interest, principal, the early-repayment fee, and the
    (instalment, principal, interest) share of each instalment it pays."""

    interest: int
    principal: int
    fee: int
    shares: list[tuple[positions.InstalmentPosition, int, int]]

    @property
    def total(self) -> int:
        return self.interest + self.principal + self.fee


def _repay_input(amount_minor: int | None, fee_bps: int, idempotency_key: str) -> str:
    """Refuse an amount that is not a positive whole number of minor units, a fee outside 0 to
    10,000 basis points or a key longer than 60 characters; answers the key, trimmed."""
    if amount_minor is not None and (
        isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0
    ):
        raise ValidationFailed(
            fields={"amount_minor": _("Give a whole number of minor units above 0.")}
        )
    if fee_bps < 0 or fee_bps > 10_000:
        raise ValidationFailed(fields={"fee_bps": _("Between 0 and 10000 basis points.")})
    key = (idempotency_key or "").strip()
    if len(key) > 60:
        raise ValidationFailed(fields={"idempotency_key": _("At most 60 characters.")})
    return key


def _repayment_replay(
    servicing: LoanServicing, key: str, amount_minor: int | None, early: bool
) -> Outcome | None:
    """The repayment already recorded under `key` (a replay), None when there is none; the
    same key for another amount or kind of repayment is refused."""
    if not key:
        return None
    stored = LoanRepayment.objects.filter(loan=servicing, idempotency_key=key).first()
    if stored is None:
        return None
    if (amount_minor is not None and stored.amount_minor != amount_minor) or (
        stored.early != early
    ):
        raise ledger_conflict(key, stored)
    transfers = list(Transfer.objects.filter(pk__in=stored.transfer_ids))
    return Outcome(servicing, transfers, replayed=True, repayment=stored)


def _check_repayable(holding: Holding, servicing: LoanServicing, value_date: datetime.date) -> None:
    """Only an active loan, and not dated before the last accrual or repayment."""
    if servicing.state != LoanState.ACTIVE:
        raise LoanClosed(fields={"holding_id": str(holding.pk)})
    if value_date < servicing.last_event_on or value_date < servicing.accrued_through:
        raise Backdated(
            fields={
                "value_date": _(
                    "Use %(date)s or later: interest is accrued and repayments are "
                    "recorded through that date."
                )
                % {"date": max(servicing.last_event_on, servicing.accrued_through).isoformat()}
            }
        )


def _repayment_allocation(
    servicing: LoanServicing,
    value_date: datetime.date,
    amount_minor: int | None,
    *,
    prepay: bool,
    early: bool,
    fee_bps: int,
) -> _Allocation:
    """Allocation step: an early repayment settles everything owed; the fee is `fee_bps` of
    the principal settled (half-up)."""
    if early:
        amount_minor = servicing.interest_unpaid_minor + servicing.principal_outstanding_minor
    to_interest, to_principal, shares = _allocate(
        servicing, value_date, amount_minor, prepay=prepay or early
    )
    fee = 0
    if early and fee_bps:
        fee = int(
            (Decimal(to_principal) * fee_bps / Decimal(10_000)).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
        )
    return _Allocation(to_interest, to_principal, fee, shares)


def _repayment_specs(
    actor: Any,
    holding: Holding,
    servicing: LoanServicing,
    *,
    cash: Account,
    sequence: int,
    value_date: datetime.date,
    early: bool,
    fee_bps: int,
    allocation: _Allocation,
) -> list[engine.TransferSpec]:
    """Posting step: one transfer per part (interest, principal, fee) from the cash account,
    keyed `loan:<id>:repay:<sequence>:<part>`."""
    base = f"loan:{holding.pk}:repay:{sequence}"
    reference = f"{holding.holding_number} {'early ' if early else ''}repayment {sequence}"
    # the memo shown to people is rendered from these keys in the reader's language
    # (cpms.ledger.display.memo); the English reference stays for API clients and exports
    meta = {
        "loan": holding.pk,
        "loan_number": holding.holding_number,
        "event": "early_repay" if early else "repay",
        "sequence": sequence,
    }
    parts = []
    if allocation.interest:
        parts.append(("interest", servicing.interest_account, allocation.interest, {}))
    if allocation.principal:
        parts.append(("principal", servicing.principal_account, allocation.principal, {}))
    if allocation.fee:
        fees = ledger.internal_account(
            asset_code=servicing.currency, purpose=AccountPurpose.FEES, actor=actor
        )
        parts.append(("fee", fees, allocation.fee, {"fee_bps": fee_bps}))
    return [
        ledger.TransferSpec(
            debit_account=cash,
            credit_account=account,
            amount=amount,
            reference=f"{reference} {part}"[:140],
            value_date=value_date,
            metadata={**meta, "part": part, **extra},
            idempotency_key=f"{base}:{part}",
        )
        for part, account, amount, extra in parts
    ]


def _repayment_record(
    actor: Any,
    servicing: LoanServicing,
    *,
    sequence: int,
    value_date: datetime.date,
    source: str,
    early: bool,
    key: str,
    allocation: _Allocation,
    transfers: list[Transfer],
) -> LoanRepayment:
    """Recording step: the repayment row and one allocation row per instalment paid (linked
    to the principal transfer, or the interest transfer when it paid no principal)."""
    by_part = {t.metadata.get("part"): t for t in transfers}
    repayment = LoanRepayment.objects.create(
        loan=servicing,
        sequence=sequence,
        value_date=value_date,
        source=source,
        early=early,
        amount_minor=allocation.total,
        interest_minor=allocation.interest,
        principal_minor=allocation.principal,
        fee_minor=allocation.fee,
        idempotency_key=key,
        transfer_ids=[t.pk for t in transfers],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    RepaymentAllocation.objects.bulk_create(
        RepaymentAllocation(
            repayment=repayment,
            loan=servicing,
            transfer=by_part.get("principal") if principal else by_part["interest"],
            instalment_number=line.number,
            due_on=line.due_on,
            principal_minor=principal,
            interest_minor=interest,
        )
        for line, principal, interest in allocation.shares
    )
    return repayment


def _servicing_repaid(
    servicing: LoanServicing, allocation: _Allocation, value_date: datetime.date
) -> dict[str, int]:
    """Schedule step: add the repayment to the servicing totals and close the loan when
    nothing is left; answers the outstanding amounts before it (for the audit entry)."""
    before = {
        "principal_outstanding_minor": servicing.principal_outstanding_minor,
        "interest_unpaid_minor": servicing.interest_unpaid_minor,
    }
    servicing.interest_paid_minor += allocation.interest
    servicing.principal_paid_minor += allocation.principal
    servicing.last_event_on = value_date
    fields = ["interest_paid_minor", "principal_paid_minor", "last_event_on"]
    if servicing.principal_outstanding_minor == 0 and servicing.interest_unpaid_minor == 0:
        LOAN_STATES.move(servicing, LoanState.REPAID)
        servicing.closed_on = value_date
        fields += ["state", "closed_on"]
    servicing.save(update_fields=fields)
    return before


def _repayment_audit(
    actor: Any,
    servicing: LoanServicing,
    repayment: LoanRepayment,
    allocation: _Allocation,
    before: dict[str, int],
) -> None:
    """Audit step: LOAN_REPAID or LOAN_EARLY_REPAID with the split and what is left."""
    audit_record(
        actor=actor,
        action=AuditAction.LOAN_EARLY_REPAID if repayment.early else AuditAction.LOAN_REPAID,
        object_type=OBJECT_TYPE,
        object_id=servicing.holding_id,
        before=before,
        after={
            "sequence": repayment.sequence,
            "value_date": repayment.value_date.isoformat(),
            "source": repayment.source,
            "amount_minor": repayment.amount_minor,
            "interest_minor": allocation.interest,
            "principal_minor": allocation.principal,
            "fee_minor": allocation.fee,
            "principal_outstanding_minor": servicing.principal_outstanding_minor,
            "interest_unpaid_minor": servicing.interest_unpaid_minor,
            "state": servicing.state,
            "allocations": [[line.number, p, i] for line, p, i in allocation.shares],
            "transfer_ids": repayment.transfer_ids,
        },
    )


def _repay(
    *,
    actor: Any,
    holding: Holding | int,
    amount_minor: int | None,
    value_date: datetime.date | None,
    source: str,
    prepay: bool,
    early: bool,
    fee_bps: int,
    idempotency_key: str,
) -> Outcome:
    """A repayment (or, `early`, the settlement) of a loan in the actor's scope: accrue
    through the value date, allocate, post, record, update the servicing, audit."""
    require_permission(actor, POST_PERMISSION)
    value_date = value_date or today()
    check_date("value_date", value_date)
    key = _repay_input(amount_minor, fee_bps, idempotency_key)
    with transaction.atomic():
        holding = holding_in_scope(actor, holding)
        servicing = locked_servicing(holding)
        replay = _repayment_replay(servicing, key, amount_minor, early)
        if replay is not None:
            return replay
        _check_repayable(holding, servicing, value_date)
        accrued = _accrue_locked(actor, servicing, value_date)
        if accrued:
            _accrual_audit(actor, servicing, accrued)
        allocation = _repayment_allocation(
            servicing, value_date, amount_minor, prepay=prepay, early=early, fee_bps=fee_bps
        )
        sequence = servicing.repayments.count() + 1
        specs = _repayment_specs(
            actor,
            holding,
            servicing,
            cash=cash_account(holding, source, servicing.currency, actor),
            sequence=sequence,
            value_date=value_date,
            early=early,
            fee_bps=fee_bps,
            allocation=allocation,
        )
        if not specs:
            raise ValidationFailed(fields={"amount_minor": _("Nothing is owed on this loan.")})
        posted = ledger.post_internal(actor=actor, specs=specs)
        repayment = _repayment_record(
            actor,
            servicing,
            sequence=sequence,
            value_date=value_date,
            source=source,
            early=early,
            key=key,
            allocation=allocation,
            transfers=posted.transfers,
        )
        before = _servicing_repaid(servicing, allocation, value_date)
        _repayment_audit(actor, servicing, repayment, allocation, before)
    return Outcome(servicing, posted.transfers, replayed=False, repayment=repayment)


def ledger_conflict(key: str, stored: LoanRepayment) -> IdempotencyConflict:
    """The refusal of a repayment key already used for another repayment (it names the
    repayment: the key is the loan's own, so the caller may see it)."""
    return IdempotencyConflict(
        fields={
            "idempotency_key": _("Key %(key)s was used for repayment %(n)s of %(amount)s.")
            % {"key": key, "n": stored.sequence, "amount": stored.amount_minor}
        }
    )


def loan_repay(
    *,
    actor: Any,
    holding: Holding | int,
    amount_minor: int,
    value_date: datetime.date | None = None,
    source: str = PaidFrom.CUSTOMER_CASH,
    prepay: bool = True,
    idempotency_key: str = "",
) -> Outcome:
    """Record a repayment of `amount_minor` paid from the customer's money account or received
    into the client-money bank account: accrued interest first, then principal due, then
    (`prepay`) principal not yet due. Overpayment is refused."""
    if amount_minor is None:
        raise ValidationFailed(fields={"amount_minor": _("Give the amount paid.")})
    return _repay(
        actor=actor,
        holding=holding,
        amount_minor=amount_minor,
        value_date=value_date,
        source=source,
        prepay=prepay,
        early=False,
        fee_bps=0,
        idempotency_key=idempotency_key,
    )


def early_repayment_fee_bps() -> int:
    return int(getattr(settings, "CPMS_LOAN_EARLY_REPAYMENT_FEE_BPS", 0) or 0)


def loan_repay_early(
    *,
    actor: Any,
    holding: Holding | int,
    value_date: datetime.date | None = None,
    source: str = PaidFrom.CUSTOMER_CASH,
    fee_bps: int | None = None,
    idempotency_key: str = "",
) -> Outcome:
    """Settle the loan: all outstanding principal and the interest accrued through
    `value_date`, plus a fee of `fee_bps` basis points of the principal settled early
    (default: setting CPMS_LOAN_EARLY_REPAYMENT_FEE_BPS, 0) posted to fee income."""
    return _repay(
        actor=actor,
        holding=holding,
        amount_minor=None,
        value_date=value_date,
        source=source,
        prepay=True,
        early=True,
        fee_bps=early_repayment_fee_bps() if fee_bps is None else fee_bps,
        idempotency_key=idempotency_key,
    )
