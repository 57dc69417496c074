"""Loan servicing services: schedules, disbursement, accrual, repayment, early repayment,
positions (days past due, buckets) and the ledger invariants after each."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied
from cpms.holdings import loans as schedules
from cpms.ledger import services as ledger_services
from cpms.ledger.checks import ledger_check
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import InsufficientFunds
from cpms.ledger.models import Transfer
from cpms.ledger.selectors import account_balance
from cpms.loans import selectors, services
from cpms.loans.errors import (
    AlreadyDisbursed,
    Backdated,
    LoanClosed,
    LoanNotFound,
    NotDisbursed,
    Overpayment,
)
from cpms.loans.models import LoanAccrual, LoanRepayment, RepaymentAllocation
from tests.loans.conftest import START

D = datetime.date


def _balance(account) -> int:
    return account_balance(account).posted


def _internal(purpose: str):
    with transaction.atomic():
        return ledger_services.internal_account(asset_code="CNY", purpose=purpose)


def _cash(customer):
    with transaction.atomic():
        return ledger_services.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )


# ------------------------------------------------------------------ schedules (by hand)


def test_schedule__equal_instalment_by_hand():
    # 3 000.00 at 12 % a year (1 % a month), 3 months:
    # payment = 300000 × 0.01 × 1.01³ / (1.01³ − 1) = 102 006.63… → 102 007
    # 1: interest 3000, principal 99 007, balance 200 993
    # 2: interest 2009.93 → 2010, principal 99 997, balance 100 996
    # 3: interest 1009.96 → 1010, principal 100 996 (the rest), payment 102 006
    lines = schedules.schedule(
        principal_minor=300_000,
        annual_rate_percent=Decimal("12"),
        term_months=3,
        method="equal_instalment",
        start_date=START,
    )
    assert [
        (ln.due_on, ln.principal_minor, ln.interest_minor, ln.payment_minor) for ln in lines
    ] == [
        (D(2026, 2, 15), 99_007, 3_000, 102_007),
        (D(2026, 3, 15), 99_997, 2_010, 102_007),
        (D(2026, 4, 15), 100_996, 1_010, 102_006),
    ]


def test_schedule__equal_principal_by_hand():
    lines = schedules.schedule(
        principal_minor=300_000,
        annual_rate_percent=Decimal("12"),
        term_months=3,
        method="equal_principal",
        start_date=START,
    )
    assert [(ln.principal_minor, ln.interest_minor, ln.balance_after_minor) for ln in lines] == [
        (100_000, 3_000, 200_000),
        (100_000, 2_000, 100_000),
        (100_000, 1_000, 0),
    ]


# ------------------------------------------------------------------ disbursement


def test_loan_disburse__to_customer_cash(finance, customer, loan):
    outcome = services.loan_disburse(actor=finance, holding=loan, value_date=START)
    servicing = outcome.servicing
    assert outcome.replayed is False
    transfer = outcome.transfers[0]
    assert transfer.idempotency_key == f"loan:{loan.pk}:disburse"
    assert transfer.amount == 300_000 and transfer.value_date == START
    assert _balance(servicing.principal_account) == 300_000
    assert _balance(_cash(customer)) == 300_000
    entry = AuditEntry.objects.filter(action="loan.disbursed").get()
    assert entry.object_id == str(loan.pk)
    assert ledger_check().ok


def test_loan_disburse__to_client_bank(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    assert _balance(_internal(AccountPurpose.CLIENT_BANK)) == -300_000
    assert ledger_check().ok


def test_loan_disburse__replay_posts_nothing(finance, loan):
    first = services.loan_disburse(actor=finance, holding=loan, value_date=START)
    count, audits = (
        Transfer.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )
    again = services.loan_disburse(actor=finance, holding=loan, value_date=START)
    assert again.replayed is True
    assert again.transfers[0].pk == first.transfers[0].pk
    assert (
        Transfer.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == (count, audits)


def test_loan_disburse__other_details_refused(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    with pytest.raises(AlreadyDisbursed):
        services.loan_disburse(actor=finance, holding=loan, value_date=D(2026, 1, 16))


def test_loan_disburse__without_permission_changes_nothing(rm, loan):
    count = Transfer.objects.count()
    with pytest.raises(PermissionDenied):
        services.loan_disburse(actor=rm, holding=loan, value_date=START)
    assert Transfer.objects.count() == count


def test_loan_disburse__out_of_scope_is_not_found(make_user, loan):
    from cpms.users import services as user_services
    from cpms.users.choices import Role

    far = user_services.branch_ensure(actor=None, code="FAR", name="远方")
    outsider = make_user(Role.FINANCE_OFFICER, username="far1", branch=far)
    count = Transfer.objects.count()
    with pytest.raises(LoanNotFound):
        services.loan_disburse(actor=outsider, holding=loan, value_date=START)
    assert Transfer.objects.count() == count


def test_loan_disburse__future_date_refused(finance, loan):
    with pytest.raises(Exception) as caught:
        services.loan_disburse(actor=finance, holding=loan, value_date=D(2999, 1, 1))
    assert "value_date" in caught.value.fields


# ------------------------------------------------------------------ accrual


def test_loan_accrue__daily_rounding_carry_over_a_month(finance, make_loan):
    # 10 000.00 at 3.10 %: 84.9315… fen a day; 31 days = 2 632.88 → 2 633 (31 × 85 would be 2 635)
    holding = make_loan(principal_minor=1_000_000, rate="3.10", term_months=12)
    services.loan_disburse(actor=finance, holding=holding, value_date=START)
    amounts = []
    for offset in range(1, 32):
        amounts.append(
            services.loan_accrue(
                actor=finance, holding=holding, as_of=START + datetime.timedelta(days=offset)
            )
        )
    assert sum(amounts) == 2_633
    assert amounts[:4] == [85, 85, 85, 85]
    assert amounts.count(84) == 2 and amounts.count(85) == 29
    servicing = selectors.visible_loans(finance).get(pk=holding.pk).servicing
    assert _balance(servicing.interest_account) == 2_633
    assert _balance(_internal(AccountPurpose.INTEREST)) == 2_633
    assert LoanAccrual.objects.filter(loan=servicing).count() == 31
    assert ledger_check().ok


def test_loan_accrue__one_run_equals_daily_runs(finance, make_loan):
    holding = make_loan(principal_minor=1_000_000, rate="3.10", term_months=12)
    services.loan_disburse(actor=finance, holding=holding, value_date=START)
    # one run through 2026-02-15 is split at the due date 2026-02-15 (itself the end)
    assert services.loan_accrue(actor=finance, holding=holding, as_of=D(2026, 2, 15)) == 2_633


def test_loan_accrue__split_at_due_dates(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    # 3 000.00 at 12 %: 98.6301… a day; through 03-01 = 45 days = 4 438.36 → 4 438
    assert services.loan_accrue(actor=finance, holding=loan, as_of=D(2026, 3, 1)) == 4_438
    rows = list(LoanAccrual.objects.order_by("through").values_list("through", "amount_minor"))
    # 31 days to 02-15: 3 057.53 → 3 058; then 14 days: 4 438 − 3 058 = 1 380
    assert rows == [(D(2026, 2, 15), 3_058), (D(2026, 3, 1), 1_380)]
    keys = sorted(
        Transfer.objects.filter(metadata__event="accrue").values_list("idempotency_key", flat=True)
    )
    assert keys == [f"loan:{loan.pk}:accrue:2026-02-15", f"loan:{loan.pk}:accrue:2026-03-01"]


def test_loans_accrue__replay_same_day_posts_nothing(finance, loan, make_loan):
    other = make_loan(principal_minor=1_000_000, rate="3.10", term_months=12)
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    services.loan_disburse(actor=finance, holding=other, value_date=START)
    first = services.loans_accrue(as_of=D(2026, 1, 16))
    assert first == {"loans": 2, "accrued_minor": 99 + 85}
    count, audits = (
        Transfer.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )
    assert services.loans_accrue(as_of=D(2026, 1, 16)) == {"loans": 0, "accrued_minor": 0}
    assert (
        Transfer.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == (count, audits)


def test_loan_accrue__not_disbursed_refused(finance, loan):
    with pytest.raises(NotDisbursed):
        services.loan_accrue(actor=finance, holding=loan, as_of=D(2026, 2, 1))


# ------------------------------------------------------------------ repayment


def test_loan_repay__interest_first_then_principal_due(finance, customer, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    outcome = services.loan_repay(
        actor=finance, holding=loan, amount_minor=103_058, value_date=D(2026, 2, 15)
    )
    repayment = outcome.repayment
    assert (repayment.interest_minor, repayment.principal_minor) == (3_058, 100_000)
    assert [t.amount for t in outcome.transfers] == [3_058, 100_000]
    servicing = outcome.servicing
    assert _balance(servicing.principal_account) == 200_000
    assert _balance(servicing.interest_account) == 0
    assert _balance(_cash(customer)) == 300_000 - 103_058
    allocations = list(
        RepaymentAllocation.objects.values_list(
            "instalment_number", "principal_minor", "interest_minor"
        )
    )
    assert allocations == [(1, 100_000, 3_058)]
    position = selectors.loan_position(loan, D(2026, 2, 15))
    assert position.instalments[0].paid is True
    assert position.days_past_due == 0 and position.bucket == "current"
    assert position.outstanding_principal_minor == 200_000
    assert position.next_due.number == 2
    assert AuditEntry.objects.filter(action="loan.repaid").count() == 1
    assert ledger_check().ok


def test_loan_repay__partial_goes_to_interest_first(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    outcome = services.loan_repay(
        actor=finance, holding=loan, amount_minor=5_000, value_date=D(2026, 2, 15)
    )
    assert (outcome.repayment.interest_minor, outcome.repayment.principal_minor) == (3_058, 1_942)
    position = selectors.loan_position(loan, D(2026, 2, 16))
    first = position.instalments[0]
    assert (first.paid_interest_minor, first.paid_principal_minor) == (3_058, 1_942)
    assert first.outstanding_principal_minor == 98_058
    assert position.days_past_due == 1 and position.bucket == "1-30"


def test_loan_repay__prepayment_allocated_to_next_instalments(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    services.loan_repay(
        actor=finance, holding=loan, amount_minor=153_058, value_date=D(2026, 2, 15)
    )
    allocations = list(
        RepaymentAllocation.objects.order_by("instalment_number").values_list(
            "instalment_number", "principal_minor", "interest_minor"
        )
    )
    assert allocations == [(1, 100_000, 3_058), (2, 50_000, 0)]


def test_loan_repay__prepayment_refused_when_not_allowed(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    count = Transfer.objects.count()
    with pytest.raises(Overpayment) as caught:
        services.loan_repay(
            actor=finance,
            holding=loan,
            amount_minor=103_059,
            value_date=D(2026, 2, 15),
            prepay=False,
        )
    assert "103058" in caught.value.fields["amount_minor"]
    # the accrual through the value date rolled back with the refusal
    assert Transfer.objects.count() == count
    assert LoanAccrual.objects.count() == 0


def test_loan_repay__overpayment_refused(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    with pytest.raises(Overpayment) as caught:
        services.loan_repay(
            actor=finance, holding=loan, amount_minor=303_059, value_date=D(2026, 2, 15)
        )
    assert "303058" in caught.value.fields["amount_minor"]
    assert LoanRepayment.objects.count() == 0


def test_loan_repay__insufficient_customer_money_changes_nothing(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    count = Transfer.objects.count()
    with pytest.raises(InsufficientFunds):
        services.loan_repay(
            actor=finance, holding=loan, amount_minor=103_058, value_date=D(2026, 2, 15)
        )
    assert Transfer.objects.count() == count
    assert LoanRepayment.objects.count() == 0


def test_loan_repay__backdated_refused(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    services.loan_accrue(actor=finance, holding=loan, as_of=D(2026, 2, 20))
    with pytest.raises(Backdated):
        services.loan_repay(
            actor=finance, holding=loan, amount_minor=1_000, value_date=D(2026, 2, 15)
        )


def test_loan_repay__replay_with_key(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    first = services.loan_repay(
        actor=finance,
        holding=loan,
        amount_minor=103_058,
        value_date=D(2026, 2, 15),
        idempotency_key="bank-ref-1",
    )
    count = Transfer.objects.count()
    again = services.loan_repay(
        actor=finance,
        holding=loan,
        amount_minor=103_058,
        value_date=D(2026, 2, 15),
        idempotency_key="bank-ref-1",
    )
    assert again.replayed is True and again.repayment.pk == first.repayment.pk
    assert Transfer.objects.count() == count


def test_loan_repay__full_schedule_closes_the_loan(finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    paid = []
    for due in (D(2026, 2, 15), D(2026, 3, 15), D(2026, 4, 15)):
        services.loan_accrue(actor=finance, holding=loan, as_of=due)
        position = selectors.loan_position(loan, due)
        line = next(ln for ln in position.instalments if ln.due_on == due)
        amount = position.accrued_unpaid_interest_minor + line.outstanding_principal_minor
        paid.append(amount)
        services.loan_repay(
            actor=finance, holding=loan, amount_minor=amount, value_date=due, source="client_bank"
        )
    # interest: 31 days on 3 000 = 3 058; 28 days on 2 000 → cumulative 3057.53+1841.10 = 4898.63
    # → 4 899 (1 841); 31 days on 1 000: 4898.63+1019.18 = 5917.81 → 5 918 (1 019)
    assert paid == [103_058, 101_841, 101_019]
    servicing = selectors.visible_loans(finance).get(pk=loan.pk).servicing
    assert servicing.state == "repaid" and servicing.closed_on == D(2026, 4, 15)
    with pytest.raises(LoanClosed):
        services.loan_repay(actor=finance, holding=loan, amount_minor=1, value_date=D(2026, 5, 1))
    assert _balance(_internal(AccountPurpose.CLIENT_BANK)) == 5_918
    assert _balance(_internal(AccountPurpose.INTEREST)) == 5_918
    assert ledger_check().ok


# ------------------------------------------------------------------ early repayment


def test_loan_repay_early__settles_everything_with_fee(finance, customer, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    # 10 days: 986.30 → 986; fee 100 bp of 300 000 = 3 000
    outcome = services.loan_repay_early(
        actor=finance, holding=loan, value_date=D(2026, 1, 25), source="client_bank", fee_bps=100
    )
    repayment = outcome.repayment
    assert (repayment.interest_minor, repayment.principal_minor, repayment.fee_minor) == (
        986,
        300_000,
        3_000,
    )
    assert repayment.amount_minor == 303_986 and repayment.early is True
    assert _balance(_internal(AccountPurpose.FEES)) == 3_000
    assert _balance(outcome.servicing.principal_account) == 0
    assert _balance(outcome.servicing.interest_account) == 0
    assert outcome.servicing.state == "repaid"
    position = selectors.loan_position(loan, D(2026, 6, 1))
    assert position.days_past_due == 0 and position.outstanding_minor == 0
    assert all(line.outstanding_principal_minor == 0 for line in position.instalments)
    assert AuditEntry.objects.filter(action="loan.early_repaid").count() == 1
    assert ledger_check().ok


def test_loan_repay_early__without_fee(finance, customer, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    bank = _internal(AccountPurpose.CLIENT_BANK)
    ledger_services.transfer_post(
        actor=finance,
        data={
            "debit_account": bank.code,
            "credit_account": _cash(customer).code,
            "amount_minor": 1_000,
            "value_date": START,
        },
    )
    outcome = services.loan_repay_early(actor=finance, holding=loan, value_date=D(2026, 1, 25))
    assert outcome.repayment.fee_minor == 0
    assert [t.amount for t in outcome.transfers] == [986, 300_000]
    assert len(outcome.transfers) == 2
    assert _balance(_cash(customer)) == 14
    assert ledger_check().ok


# ------------------------------------------------------------------ days past due


@pytest.mark.parametrize(
    ("as_of", "dpd", "bucket"),
    [
        (D(2026, 2, 15), 0, "current"),
        (D(2026, 2, 16), 1, "1-30"),
        (D(2026, 3, 17), 30, "1-30"),
        (D(2026, 3, 18), 31, "31-60"),
        (D(2026, 4, 16), 60, "31-60"),
        (D(2026, 4, 17), 61, "61-90"),
        (D(2026, 5, 16), 90, "61-90"),
        (D(2026, 5, 17), 91, "90+"),
    ],
)
def test_loan_position__days_past_due_buckets(finance, loan, as_of, dpd, bucket):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    position = selectors.loan_position(loan, as_of)
    assert (position.days_past_due, position.bucket) == (dpd, bucket)


def test_loan_position__not_disbursed_is_none(loan):
    assert selectors.loan_position(loan, D(2026, 2, 1)) is None


def test_loan_list__filter_by_bucket(finance, loan, make_loan):
    other = make_loan()
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    rows = selectors.loan_list(finance, as_of=D(2026, 3, 20), bucket="31-60")
    assert [row.holding.pk for row in rows] == [loan.pk]
    rows = selectors.loan_list(finance, as_of=D(2026, 3, 20), bucket="not_disbursed")
    assert [row.holding.pk for row in rows] == [other.pk]
    overdue = selectors.loan_list(finance, as_of=D(2026, 3, 20), overdue_only=True)
    assert [row.position.days_past_due for row in overdue] == [33]


def test_loan_disburse__not_a_loan_is_not_found(finance, rm, customer):
    from cpms.holdings.services import holding_register

    contract = holding_register(
        actor=rm,
        customer=customer,
        kind="contract",
        identifier="HT-1",
        details={"contract_number": "HT-1", "counterparty": "某公司"},
    )
    with pytest.raises(LoanNotFound):
        services.loan_disburse(actor=finance, holding=contract, value_date=START)
    assert Transfer.objects.count() == 0
