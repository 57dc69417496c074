"""Every write of loan servicing: disbursement, interest accrual, repayment and early
repayment. Each function checks `ledger.post` and the loan's customer scope, owns its
transaction, locks the loan's servicing row, posts through `ledger.services.post_internal`
(linked transfers, all-or-nothing, deterministic idempotency keys) and records its audit entry
in the same transaction.

Conventions:
- Interest accrues per day on the principal outstanding at the end of the previous day
  (actual/365): a loan disbursed on 1 January and repaid on 31 January accrues 30 days.
- Accruing "through D" covers the days after the last accrual up to and including D; the run is
  split at instalment due dates, one ledger transfer per part with the key
  `loan:<holding id>:accrue:<date>` (a replay posts nothing).
- A repayment first accrues through its value date, then pays accrued interest (oldest period
  first), then principal of instalments already due, then (when `prepay` is allowed) principal
  not yet due, instalment by instalment. More than that is refused (`loans.overpayment`).
- Value dates may not go back before the last accrual or repayment (`loans.backdated`) nor
  into the future."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import Holding, LoanDetail
from cpms.ledger import engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.loans import position as positions
from cpms.loans.choices import LoanState, PaidFrom
from cpms.loans.errors import (
    AlreadyDisbursed,
    Backdated,
    InvalidLoan,
    LoanClosed,
    LoanNotFound,
    NotDisbursed,
    Overpayment,
)
from cpms.loans.models import (
    ACCRUAL_DENOMINATOR,
    POST_PERMISSION,
    RATE_SCALE,
    LoanAccrual,
    LoanRepayment,
    LoanServicing,
    RepaymentAllocation,
)

OBJECT_TYPE = "holdings.holding"


@dataclass(frozen=True)
class Outcome:
    servicing: LoanServicing
    transfers: list[Transfer]
    replayed: bool = False
    repayment: LoanRepayment | None = None


# ------------------------------------------------------------------------ helpers


def _today() -> datetime.date:
    return engine.today()


def _holding_in_scope(actor: Any, holding: Holding | int) -> Holding:
    pk = holding.pk if isinstance(holding, Holding) else holding
    condition = scope_filter(actor, POST_PERMISSION, Holding)
    found = None
    if condition is not None:
        found = Holding.objects.filter(condition, pk=pk).select_related("customer").first()
    if found is None or found.kind != HoldingKind.LOAN:
        raise LoanNotFound(fields={"holding_id": str(pk)})
    return found


def _locked_servicing(holding: Holding) -> LoanServicing:
    servicing = (
        LoanServicing.objects.select_for_update()
        .select_related("principal_account__asset", "interest_account__asset")
        .filter(holding=holding)
        .first()
    )
    if servicing is None:
        raise NotDisbursed(fields={"holding_id": str(holding.pk)})
    return servicing


def _check_date(name: str, value: datetime.date) -> None:
    if not isinstance(value, datetime.date):
        raise ValidationFailed(fields={name: _("Give a date (YYYY-MM-DD).")})
    if value > _today():
        raise ValidationFailed(
            fields={name: _("%(date)s is in the future.") % {"date": value.isoformat()}}
        )


def _round(numerator: int) -> int:
    return int(
        (Decimal(numerator) / Decimal(ACCRUAL_DENOMINATOR)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )


def _cash_account(holding: Holding, source: str, currency: str, actor: Any) -> Account:
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


def _position(servicing: LoanServicing, as_of: datetime.date) -> positions.LoanPosition:
    accruals = LoanAccrual.objects.filter(loan=servicing).values_list("through", "amount_minor")
    allocations = RepaymentAllocation.objects.filter(loan=servicing).values_list(
        "repayment__value_date", "instalment_number", "principal_minor", "interest_minor"
    )
    return positions.compute(
        servicing=servicing, as_of=as_of, accruals=list(accruals), allocations=list(allocations)
    )


# ------------------------------------------------------------------------ disbursement


def loan_disburse(
    *,
    actor: Any,
    holding: Holding | int,
    value_date: datetime.date | None = None,
    to: str = PaidFrom.CUSTOMER_CASH,
) -> Outcome:
    """Pay out a loan once: debit the loan's principal receivable, credit the customer's money
    account (`customer_cash`) or the client-money bank account (`client_bank`, paid out to the
    customer's own bank). Asking again with the same details answers the first disbursement."""
    require_permission(actor, POST_PERMISSION)
    value_date = value_date or _today()
    _check_date("value_date", value_date)
    with transaction.atomic():
        holding = _holding_in_scope(actor, holding)
        Holding.objects.select_for_update().filter(pk=holding.pk).first()
        existing = LoanServicing.objects.filter(holding=holding).first()
        if existing is not None:
            if existing.disbursed_on != value_date or existing.disbursed_to != to:
                raise AlreadyDisbursed(
                    fields={
                        "value_date": _("Disbursed on %(date)s to %(to)s already.")
                        % {"date": existing.disbursed_on.isoformat(), "to": existing.disbursed_to}
                    }
                )
            return Outcome(existing, [existing.disbursement], replayed=True)
        detail = LoanDetail.objects.filter(holding=holding).first()
        if detail is None:
            raise InvalidLoan(
                _("The loan has no terms."),
                fields={"holding_id": _("Record the loan's terms on the property item first.")},
            )
        if value_date < detail.start_date - datetime.timedelta(days=31):
            raise ValidationFailed(
                fields={
                    "value_date": _("More than a month before the loan starts (%(start)s).")
                    % {"start": detail.start_date.isoformat()}
                }
            )
        terms = {
            "principal_minor": detail.principal_minor,
            "annual_rate_percent": format(detail.annual_rate_percent.normalize(), "f"),
            "term_months": detail.term_months,
            "method": detail.method,
            "start_date": detail.start_date.isoformat(),
        }
        positions.schedule_for(terms)  # the terms must give a schedule
        principal_account = ledger.customer_account(
            customer=holding.customer,
            purpose=AccountPurpose.LOAN_PRINCIPAL,
            asset_code=detail.currency,
            holding=holding,
            actor=actor,
        )
        interest_account = ledger.customer_account(
            customer=holding.customer,
            purpose=AccountPurpose.LOAN_INTEREST,
            asset_code=detail.currency,
            holding=holding,
            actor=actor,
        )
        target = _cash_account(holding, to, detail.currency, actor)
        posted = ledger.post_internal(
            actor=actor,
            specs=[
                ledger.TransferSpec(
                    debit_account=principal_account,
                    credit_account=target,
                    amount=detail.principal_minor,
                    reference=f"{holding.holding_number} disbursement"[:140],
                    value_date=value_date,
                    metadata={
                        "loan": holding.pk,
                        "loan_number": holding.holding_number,
                        "event": "disburse",
                    },
                    idempotency_key=f"loan:{holding.pk}:disburse",
                )
            ],
        )
        servicing = LoanServicing.objects.create(
            holding=holding,
            currency=detail.currency,
            terms=terms,
            principal_minor=detail.principal_minor,
            disbursed_on=value_date,
            disbursed_to=to,
            principal_account=principal_account,
            interest_account=interest_account,
            disbursement=posted.transfers[0],
            accrued_through=value_date,
            last_event_on=value_date,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.LOAN_DISBURSED,
            object_type=OBJECT_TYPE,
            object_id=holding.pk,
            after={
                **terms,
                "currency": detail.currency,
                "value_date": value_date.isoformat(),
                "to": to,
                "transfer_ids": [t.pk for t in posted.transfers],
            },
        )
    return Outcome(servicing, posted.transfers, replayed=posted.replayed)


# ------------------------------------------------------------------------ accrual


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


def loan_accrue(*, actor: Any, holding: Holding | int, as_of: datetime.date | None = None) -> int:
    """Accrue one loan's interest through `as_of` (default today); returns the amount posted."""
    require_permission(actor, POST_PERMISSION)
    as_of = as_of or _today()
    _check_date("as_of", as_of)
    with transaction.atomic():
        holding = _holding_in_scope(actor, holding)
        servicing = _locked_servicing(holding)
        rows = _accrue_locked(actor, servicing, as_of)
        if rows:
            _accrual_audit(actor, servicing, rows)
    return sum(row.amount_minor for row in rows)


def loans_accrue(*, actor: Any = None, as_of: datetime.date | None = None) -> dict[str, int]:
    """Accrue every active loan through `as_of` (the daily job; `actor` None = the system).
    Each loan commits on its own; running it again for the same day posts nothing."""
    if actor is not None:
        require_permission(actor, POST_PERMISSION)
    as_of = as_of or _today()
    _check_date("as_of", as_of)
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


# ------------------------------------------------------------------------ repayment


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
    require_permission(actor, POST_PERMISSION)
    value_date = value_date or _today()
    _check_date("value_date", value_date)
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
    with transaction.atomic():
        holding = _holding_in_scope(actor, holding)
        servicing = _locked_servicing(holding)
        if key:
            stored = LoanRepayment.objects.filter(loan=servicing, idempotency_key=key).first()
            if stored is not None:
                if (amount_minor is not None and stored.amount_minor != amount_minor) or (
                    stored.early != early
                ):
                    raise ledger_conflict(key, stored)
                transfers = list(Transfer.objects.filter(pk__in=stored.transfer_ids))
                return Outcome(servicing, transfers, replayed=True, repayment=stored)
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
        accrued = _accrue_locked(actor, servicing, value_date)
        if accrued:
            _accrual_audit(actor, servicing, accrued)
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
        sequence = servicing.repayments.count() + 1
        cash = _cash_account(holding, source, servicing.currency, actor)
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
        specs = []
        if to_interest:
            specs.append(
                ledger.TransferSpec(
                    debit_account=cash,
                    credit_account=servicing.interest_account,
                    amount=to_interest,
                    reference=f"{reference} interest"[:140],
                    value_date=value_date,
                    metadata={**meta, "part": "interest"},
                    idempotency_key=f"{base}:interest",
                )
            )
        if to_principal:
            specs.append(
                ledger.TransferSpec(
                    debit_account=cash,
                    credit_account=servicing.principal_account,
                    amount=to_principal,
                    reference=f"{reference} principal"[:140],
                    value_date=value_date,
                    metadata={**meta, "part": "principal"},
                    idempotency_key=f"{base}:principal",
                )
            )
        if fee:
            specs.append(
                ledger.TransferSpec(
                    debit_account=cash,
                    credit_account=ledger.internal_account(
                        asset_code=servicing.currency, purpose=AccountPurpose.FEES, actor=actor
                    ),
                    amount=fee,
                    reference=f"{reference} fee"[:140],
                    value_date=value_date,
                    metadata={**meta, "part": "fee", "fee_bps": fee_bps},
                    idempotency_key=f"{base}:fee",
                )
            )
        if not specs:
            raise ValidationFailed(fields={"amount_minor": _("Nothing is owed on this loan.")})
        posted = ledger.post_internal(actor=actor, specs=specs)
        by_part = {t.metadata.get("part"): t for t in posted.transfers}
        repayment = LoanRepayment.objects.create(
            loan=servicing,
            sequence=sequence,
            value_date=value_date,
            source=source,
            early=early,
            amount_minor=to_interest + to_principal + fee,
            interest_minor=to_interest,
            principal_minor=to_principal,
            fee_minor=fee,
            idempotency_key=key,
            transfer_ids=[t.pk for t in posted.transfers],
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
            for line, principal, interest in shares
        )
        before = {
            "principal_outstanding_minor": servicing.principal_outstanding_minor,
            "interest_unpaid_minor": servicing.interest_unpaid_minor,
        }
        servicing.interest_paid_minor += to_interest
        servicing.principal_paid_minor += to_principal
        servicing.last_event_on = value_date
        fields = ["interest_paid_minor", "principal_paid_minor", "last_event_on"]
        if servicing.principal_outstanding_minor == 0 and servicing.interest_unpaid_minor == 0:
            servicing.state = LoanState.REPAID
            servicing.closed_on = value_date
            fields += ["state", "closed_on"]
        servicing.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.LOAN_EARLY_REPAID if early else AuditAction.LOAN_REPAID,
            object_type=OBJECT_TYPE,
            object_id=holding.pk,
            before=before,
            after={
                "sequence": sequence,
                "value_date": value_date.isoformat(),
                "source": source,
                "amount_minor": repayment.amount_minor,
                "interest_minor": to_interest,
                "principal_minor": to_principal,
                "fee_minor": fee,
                "principal_outstanding_minor": servicing.principal_outstanding_minor,
                "interest_unpaid_minor": servicing.interest_unpaid_minor,
                "state": servicing.state,
                "allocations": [[line.number, p, i] for line, p, i in shares],
                "transfer_ids": repayment.transfer_ids,
            },
        )
    return Outcome(servicing, posted.transfers, replayed=False, repayment=repayment)


def ledger_conflict(key: str, stored: LoanRepayment) -> Exception:
    from cpms.ledger.errors import IdempotencyConflict

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
