"""Posting, holds, maker-checker, reversals, period close and the invariant check."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cpms.approvals import services as approvals
from cpms.approvals.models import ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.ledger import selectors, services
from cpms.ledger.checks import ledger_check
from cpms.ledger.errors import (
    AccountNotFound,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidTransfer,
    NotPending,
    NotReversible,
    PeriodClosed,
)
from cpms.ledger.models import Balance, Transfer


def balance(account) -> int:
    return selectors.account_balance(account).posted


def test_transfer_post__moves_money_and_records_audit(finance, bank, cash):
    outcome = services.transfer_post(
        actor=finance,
        data={
            "debit_account": bank.code,
            "credit_account": str(cash.pk),
            "amount_minor": 12_345,
            "reference": "DEP-1",
        },
    )
    transfer = outcome.transfer
    assert not outcome.replayed
    assert transfer.kind == "posted"
    assert balance(cash) == 12_345
    assert balance(bank) == 12_345  # debit-normal: the bank holds it
    entry = AuditEntry.objects.get(action="ledger.transfer_posted", object_id=str(transfer.pk))
    assert entry.after["amount_minor"] == 12_345
    assert entry.after["credit"] == cash.code
    assert ledger_check().ok


def test_transfer_post__replay_returns_original_and_posts_nothing(finance, bank, cash, fund):
    first = fund(cash, 500, idempotency_key="dep-42")
    again = services.transfer_post(
        actor=finance,
        data={
            "debit_account": bank.code,
            "credit_account": cash.code,
            "amount_minor": 500,
            "idempotency_key": "dep-42",
        },
    )
    assert again.replayed
    assert again.transfer.pk == first.pk
    assert balance(cash) == 500
    assert Transfer.objects.count() == 1
    assert AuditEntry.objects.filter(action="ledger.transfer_posted").count() == 1


def test_transfer_post__same_key_other_content_is_refused(finance, bank, cash, fund):
    fund(cash, 500, idempotency_key="dep-43")
    with pytest.raises(IdempotencyConflict):
        fund(cash, 501, idempotency_key="dep-43")
    assert balance(cash) == 500


def test_transfer_post__customer_account_cannot_go_negative(finance, cash, fees, fund):
    fund(cash, 1_000)
    with pytest.raises(InsufficientFunds) as caught:
        services.transfer_post(
            actor=finance,
            data={"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 1_001},
        )
    assert cash.code in caught.value.fields
    assert "0.01" in caught.value.fields[cash.code]
    assert balance(cash) == 1_000
    assert Transfer.objects.count() == 1


def test_balance_check_constraint__database_refuses_negative(cash):
    row = Balance.objects.get(account=cash)
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(pk=row.pk).update(debits_posted=1)


def test_transfer_post__invalid_input_names_fields(finance, bank, cash):
    with pytest.raises(InvalidTransfer) as caught:
        services.transfer_post(
            actor=finance,
            data={"debit_account": bank.code, "credit_account": bank.code, "amount_minor": 5},
        )
    assert "credit_account" in caught.value.fields
    with pytest.raises(InvalidTransfer) as caught:
        services.transfer_post(
            actor=finance,
            data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 0},
        )
    assert "amount_minor" in caught.value.fields
    with pytest.raises(AccountNotFound) as caught:
        services.transfer_post(
            actor=finance,
            data={"debit_account": "NOPE", "credit_account": cash.code, "amount_minor": 5},
        )
    assert caught.value.fields == {"debit_account": "No account NOPE."}
    assert Transfer.objects.count() == 0


def test_transfers_post__batch_is_all_or_nothing(finance, bank, cash, other_cash, fees, fund):
    fund(cash, 100)
    items = [
        {"debit_account": bank.code, "credit_account": other_cash.code, "amount_minor": 50},
        {"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 101},
    ]
    with pytest.raises(InsufficientFunds):
        services.transfers_post(actor=finance, items=items)
    assert balance(other_cash) == 0
    assert Transfer.objects.count() == 1
    items[1]["amount_minor"] = 100
    outcome = services.transfers_post(actor=finance, items=items)
    assert len(outcome.transfers) == 2
    assert {t.batch for t in outcome.transfers} == {outcome.transfers[0].batch}
    assert balance(cash) == 0
    assert balance(fees) == 100
    entry = AuditEntry.objects.get(action="ledger.batch_posted")
    assert entry.after["count"] == 2
    assert entry.after["totals_minor"] == {"CNY": 150}
    assert ledger_check().ok


def test_transfers_post__batch_replay_and_partial_replay(finance, bank, cash, other_cash):
    items = [
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 7,
         "idempotency_key": "b-1"},
        {"debit_account": bank.code, "credit_account": other_cash.code, "amount_minor": 8,
         "idempotency_key": "b-2"},
    ]  # fmt: skip
    first = services.transfers_post(actor=finance, items=items)
    again = services.transfers_post(actor=finance, items=items)
    assert again.replayed
    assert [t.pk for t in again.transfers] == [t.pk for t in first.transfers]
    items.append(
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 9,
         "idempotency_key": "b-3"}
    )  # fmt: skip
    with pytest.raises(IdempotencyConflict):
        services.transfers_post(actor=finance, items=items)
    assert Transfer.objects.count() == 2


def test_hold__reserves_then_posts_or_voids(finance, cash, fees, fund):
    fund(cash, 1_000)
    held = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 600,
            "pending": True,
        },
    ).transfer
    assert selectors.account_balance(cash).available == 400
    assert balance(cash) == 1_000
    with pytest.raises(InsufficientFunds):
        services.transfer_post(
            actor=finance,
            data={"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 401},
        )
    services.hold_post(actor=finance, transfer_id=held.pk)
    assert balance(cash) == 400
    assert selectors.hold_state(held) == "posted"
    with pytest.raises(NotPending):
        services.hold_void(actor=finance, transfer_id=held.pk, reason="late")
    second = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 400,
            "pending": True,
        },
    ).transfer
    services.hold_void(actor=finance, transfer_id=second.pk, reason="customer cancelled")
    assert selectors.account_balance(cash).available == 400
    assert selectors.hold_state(second) == "voided"
    assert ledger_check().ok


def test_holds_expire__voids_lapsed_holds(finance, cash, fees, fund):
    fund(cash, 1_000)
    held = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 600,
            "pending": True,
            "expires_at": timezone.now() + datetime.timedelta(hours=1),
        },
    ).transfer
    assert services.holds_expire(now=timezone.now()) == 0
    assert services.holds_expire(now=timezone.now() + datetime.timedelta(hours=2)) == 1
    assert selectors.hold_state(held) == "voided"
    assert selectors.account_balance(cash).available == 1_000


def test_maker_checker__above_threshold_is_held_until_approved(finance, checker, bank, cash):
    outcome = services.transfer_post(
        actor=finance,
        data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 5_000_001},
        reason="large deposit",
    )
    held = outcome.transfer
    assert held.kind == "pending"
    assert len(outcome.approval_request_ids) == 1
    assert balance(cash) == 0
    assert selectors.account_balance(cash).posted == 0
    request = ApprovalRequest.objects.get(pk=outcome.approval_request_ids[0])
    assert request.action == "ledger.transfer"
    with pytest.raises(NotPending):
        services.hold_post(actor=finance, transfer_id=held.pk)
    approvals.approval_approve(actor=checker, request_id=request.pk)
    assert balance(cash) == 5_000_001
    assert selectors.hold_state(held) == "posted"
    # the replay of the original request returns the (now posted) hold, not a new transfer
    again = services.transfer_post(
        actor=finance,
        data={
            "debit_account": bank.code,
            "credit_account": cash.code,
            "amount_minor": 5_000_001,
            "idempotency_key": held.idempotency_key,
        },
    )
    assert again.replayed and again.transfer.pk == held.pk
    assert ledger_check().ok


def test_maker_checker__rejected_hold_is_voided(finance, checker, bank, cash):
    outcome = services.transfer_post(
        actor=finance,
        data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 6_000_000},
    )
    approvals.approval_reject(
        actor=checker, request_id=outcome.approval_request_ids[0], reason="no"
    )
    assert selectors.hold_state(outcome.transfer) == "voided"
    assert balance(cash) == 0
    assert AuditEntry.objects.filter(action="ledger.hold_voided").count() == 1
    assert ledger_check().ok


def test_transfer_reverse__mirrors_once(finance, cash, fees, fund):
    deposit = fund(cash, 300, reference="DEP-9")
    outcome = services.transfer_reverse(actor=finance, transfer_id=deposit.pk, reason="wrong")
    reversal = outcome.transfer
    assert reversal.reverses_id == deposit.pk
    assert reversal.debit_account_id == cash.pk
    assert reversal.reference == "REV DEP-9"
    assert balance(cash) == 0
    again = services.transfer_reverse(actor=finance, transfer_id=deposit.pk, reason="wrong")
    assert again.replayed and again.transfer.pk == reversal.pk
    with pytest.raises(NotReversible):
        services.transfer_reverse(actor=finance, transfer_id=reversal.pk, reason="again")
    assert ledger_check().ok


def test_transfer_reverse__refused_when_money_was_spent(finance, cash, fees, fund):
    deposit = fund(cash, 300)
    services.transfer_post(
        actor=finance,
        data={"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 200},
    )
    with pytest.raises(InsufficientFunds):
        services.transfer_reverse(actor=finance, transfer_id=deposit.pk, reason="wrong")
    assert balance(cash) == 100


def test_period_close__refuses_postings_dated_inside(finance, cash, fund):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    services.period_close(actor=finance, through=yesterday, reason="month end")
    with pytest.raises(PeriodClosed) as caught:
        fund(cash, 10, value_date=yesterday.isoformat())
    assert "value_date" in caught.value.fields
    fund(cash, 10)
    assert balance(cash) == 10


def test_customer_account__outside_scope_is_not_found(make_user, far_branch_finance, cash, bank):
    with pytest.raises(AccountNotFound):
        services.transfer_post(
            actor=far_branch_finance,
            data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1},
        )
    assert Transfer.objects.count() == 0


@pytest.fixture
def far_branch_finance(make_user, db):
    from cpms.users import services as user_services
    from cpms.users.choices import Role

    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far)


def test_ledger_check__reports_a_tampered_balance(finance, cash, fund):
    fund(cash, 10)
    Balance.objects.filter(account=cash).update(credits_posted=11)
    result = ledger_check()
    assert not result.ok
    assert any(cash.code in problem and "credits_posted" in problem for problem in result.problems)
    assert any("asset CNY" in problem for problem in result.problems)


# ---------------------------------------------------------------------------- replays in the engine


def test_post_internal__replay_is_answered_before_validation(finance, bank, cash, fund):
    # a transfer dated yesterday, then the books are closed through yesterday: the same
    # request again is the replay it is (one place looks replays up: the engine, first)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    first = fund(cash, 70, value_date=yesterday.isoformat(), idempotency_key="late-1")
    services.period_close(actor=finance, through=yesterday, reason="month end")
    spec = services.TransferSpec(
        debit_account=bank,
        credit_account=cash,
        amount=70,
        value_date=yesterday,
        idempotency_key="late-1",
    )
    count = Transfer.objects.count()

    with transaction.atomic():
        posted = services.post_internal(actor=finance, specs=[spec])

    assert posted.replayed
    assert [transfer.pk for transfer in posted.transfers] == [first.pk]
    assert Transfer.objects.count() == count


def test_engine_post__before_posting_runs_for_a_new_posting_only(finance, bank, cash):
    from cpms.ledger import engine

    seen: list[int] = []

    def step(specs) -> None:
        seen.append(len(specs))
        specs[0].metadata = {"step": "ran"}  # the step may change the transfers

    def spec():
        return services.TransferSpec(
            debit_account=bank, credit_account=cash, amount=5, idempotency_key="hook-1"
        )

    with transaction.atomic():
        first = engine.post([spec()], actor=finance, before_posting=step)
        again = engine.post([spec()], actor=finance, before_posting=step)

    assert seen == [1]
    assert first.transfers[0].metadata == {"step": "ran"}
    assert again.replayed and again.transfers[0].pk == first.transfers[0].pk


def test_transfer_reverse__retry_after_the_original_is_reversed_is_a_replay(
    finance, cash, fees, fund
):
    deposit = fund(cash, 300)
    first = services.transfer_reverse(
        actor=finance, transfer_id=deposit.pk, reason="wrong", idempotency_key="rev-1"
    )
    count = AuditEntry.objects.filter(action="ledger.transfer_reversed").count()

    again = services.transfer_reverse(
        actor=finance, transfer_id=deposit.pk, reason="wrong", idempotency_key="rev-1"
    )
    other = fund(cash, 5, idempotency_key="dep-other")
    with pytest.raises(IdempotencyConflict) as clash:
        services.transfer_reverse(
            actor=finance, transfer_id=other.pk, reason="wrong", idempotency_key="rev-1"
        )

    assert again.replayed and again.transfer.pk == first.transfer.pk
    assert AuditEntry.objects.filter(action="ledger.transfer_reversed").count() == count
    assert list(clash.value.fields) == ["idempotency_key"]


def test_account_open__balance_shards_come_from_the_engine(finance):
    account = services.account_open(
        actor=finance, purpose="client_bank", asset="EUR", code="BANK:T:EUR"
    )

    shards = Balance.objects.filter(account=account)
    assert shards.count() == account.shards
    assert {(row.normal_side, row.no_negative) for row in shards} == {
        (account.normal_side, account.no_negative)
    }


def test_account_open__dry_run_answers_the_account_and_writes_nothing(finance):
    from cpms.ledger.models import Account, Asset

    before = AuditEntry.objects.exclude(action="access.denied").count()

    account = services.account_open(
        actor=finance, purpose="client_bank", asset="CHF", code="BANK:D:CHF", dry_run=True
    )

    assert (account.code, account.asset.code) == ("BANK:D:CHF", "CHF")
    assert not Account.objects.filter(code="BANK:D:CHF").exists()
    assert not Asset.objects.filter(code="CHF").exists()
    assert AuditEntry.objects.exclude(action="access.denied").count() == before
