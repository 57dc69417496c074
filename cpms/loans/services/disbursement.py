"""Disbursement: a loan is paid out once, from its principal receivable to the customer's money
account or the client-money bank account."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.models import Holding, LoanDetail
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account
from cpms.loans import position as positions
from cpms.loans.choices import PaidFrom
from cpms.loans.errors import AlreadyDisbursed, InvalidLoan
from cpms.loans.models import POST_PERMISSION, LoanServicing
from cpms.loans.services._shared import (
    OBJECT_TYPE,
    Outcome,
    cash_account,
    check_date,
    holding_in_scope,
    today,
)


def _disbursed_already(existing: LoanServicing, value_date: datetime.date, to: str) -> Outcome:
    """A second disbursement with the same details answers the first; other details are
    refused."""
    if existing.disbursed_on != value_date or existing.disbursed_to != to:
        raise AlreadyDisbursed(
            fields={
                "value_date": _("Disbursed on %(date)s to %(to)s already.")
                % {"date": existing.disbursed_on.isoformat(), "to": existing.disbursed_to}
            }
        )
    return Outcome(existing, [existing.disbursement], replayed=True)


def _loan_terms(holding: Holding, value_date: datetime.date) -> tuple[LoanDetail, dict[str, Any]]:
    """The loan's recorded terms (refused when missing, or when paid out more than a month
    before the loan starts) and the terms snapshot the servicing keeps."""
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
    return detail, terms


def _loan_accounts(actor: Any, holding: Holding, currency: str) -> tuple[Account, Account]:
    """The loan's principal receivable and interest receivable accounts (opened on first
    use)."""

    def receivable(purpose: str) -> Account:
        return ledger.customer_account(
            customer=holding.customer,
            purpose=purpose,
            asset_code=currency,
            holding=holding,
            actor=actor,
        )

    return receivable(AccountPurpose.LOAN_PRINCIPAL), receivable(AccountPurpose.LOAN_INTEREST)


def _disbursement_audit(
    actor: Any,
    holding: Holding,
    terms: dict[str, Any],
    detail: LoanDetail,
    value_date: datetime.date,
    to: str,
    posted: Any,
) -> None:
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
    value_date = value_date or today()
    check_date("value_date", value_date)
    with transaction.atomic():
        holding = holding_in_scope(actor, holding)
        Holding.objects.select_for_update().filter(pk=holding.pk).first()
        existing = LoanServicing.objects.filter(holding=holding).first()
        if existing is not None:
            return _disbursed_already(existing, value_date, to)
        detail, terms = _loan_terms(holding, value_date)
        principal_account, interest_account = _loan_accounts(actor, holding, detail.currency)
        target = cash_account(holding, to, detail.currency, actor)
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
        _disbursement_audit(actor, holding, terms, detail, value_date, to, posted)
    return Outcome(servicing, posted.transfers, replayed=posted.replayed)
