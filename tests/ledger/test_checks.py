"""`cpms.ledger.checks.ledger_check` finds each kind of broken invariant, and names it.

Books are posted through the services, then rows are altered behind the engine's back, the way
a faulty migration, a manual fix or a bug would. Expected problem lines are written out from the
figures posted here: cash (credit-normal, may not go negative) got 1,000 from the bank, spent 100
on fees, and has a 300 hold towards fees open."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import F

from cpms.ledger import services
from cpms.ledger.checks import ledger_check
from cpms.ledger.models import Account, Balance, Transfer

pytestmark = pytest.mark.django_db


def post(finance, debit, credit, amount, **extra):
    data = {
        "debit_account": debit.code,
        "credit_account": credit.code,
        "amount_minor": amount,
        **extra,
    }
    return services.transfer_post(actor=finance, data=data).transfer


@pytest.fixture
def books(finance, bank, cash, fees, fund):
    deposit = fund(cash, 1_000)
    spent = post(finance, cash, fees, 100)
    hold = post(finance, cash, fees, 300, pending=True)
    return SimpleNamespace(
        finance=finance, bank=bank, cash=cash, fees=fees, deposit=deposit, spent=spent, hold=hold
    )


def shard(account, number=0):
    return Balance.objects.filter(account=account, shard=number)


@contextmanager
def check_constraints_off():
    """Let a test store a balance the no-negative CHECK constraint would refuse."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
    else:  # PostgreSQL: the test's transaction rolls the DDL back
        with connection.cursor() as cursor:
            # ALTER TABLE refuses to run while deferred foreign-key checks are pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE ledger_balance DROP CONSTRAINT ledger_balance_no_negative")
        yield


def test_ledger_check__sound_books(books):
    result = ledger_check()

    assert result.ok is True
    assert result.problems == []
    assert result.accounts == Account.objects.count()
    assert result.accounts >= 3
    assert result.transfers == Transfer.objects.count() == 3


def test_ledger_check__empty_ledger_is_sound(db):
    Transfer.objects.all().delete()
    result = ledger_check()

    assert (result.ok, result.transfers, result.problems) == (True, 0, [])


def test_ledger_check__posted_totals_that_do_not_balance(books):
    shard(books.cash).update(credits_posted=F("credits_posted") + 5)

    result = ledger_check()

    assert result.ok is False
    assert result.problems == [
        "asset CNY: posted debits 1100 != posted credits 1105",
        f"account {books.cash.code} shard 0: credits_posted is 1005 but its transfers sum to 1000",
    ]


def test_ledger_check__posted_debits_of_a_shard(books):
    number = books.deposit.debit_shard  # internal accounts have several shards
    shard(books.bank, number).update(debits_posted=F("debits_posted") - 1)

    assert ledger_check().problems == [
        "asset CNY: posted debits 1099 != posted credits 1100",
        f"account {books.bank.code} shard {number}: debits_posted is 999 but its transfers sum "
        "to 1000",
    ]


def test_ledger_check__pending_totals_that_do_not_balance(books):
    shard(books.cash).update(debits_pending=F("debits_pending") + 7)

    assert ledger_check().problems == [
        "asset CNY: pending debits 307 != pending credits 300",
        f"account {books.cash.code} shard 0: debits_pending is 307 but its transfers sum to 300",
    ]


def test_ledger_check__pending_credits_of_a_shard(books):
    number = books.hold.credit_shard
    shard(books.fees, number).update(credits_pending=F("credits_pending") + 2)

    assert ledger_check().problems == [
        "asset CNY: pending debits 300 != pending credits 302",
        f"account {books.fees.code} shard {number}: credits_pending is 302 but its transfers sum "
        "to 300",
    ]


def test_ledger_check__resolved_holds_are_no_longer_pending(books):
    services.hold_post(actor=books.finance, transfer_id=books.hold.pk)

    result = ledger_check()

    assert result.problems == []
    assert list(shard(books.cash).values_list("debits_posted", "debits_pending")) == [(400, 0)]


def test_ledger_check__a_transfer_naming_a_missing_credit_shard(books):
    Transfer.objects.filter(pk=books.deposit.pk).update(credit_shard=3)

    assert ledger_check().problems == [
        f"account {books.cash.code} shard 0: credits_posted is 1000 but its transfers sum to 0",
        f"account {books.cash.code} shard 3: transfers name a balance shard that does not exist",
    ]


def test_ledger_check__a_transfer_naming_a_missing_debit_shard(books):
    Transfer.objects.filter(pk=books.spent.pk).update(debit_shard=2)

    assert ledger_check().problems == [
        f"account {books.cash.code} shard 0: debits_posted is 100 but its transfers sum to 0",
        f"account {books.cash.code} shard 2: transfers name a balance shard that does not exist",
    ]


def test_ledger_check__an_open_hold_naming_a_missing_shard(books):
    number = books.hold.credit_shard
    Transfer.objects.filter(pk=books.hold.pk).update(debit_shard=41, credit_shard=42)

    problems = ledger_check().problems

    assert sorted(problems[:2]) == sorted(
        [
            f"account {books.cash.code} shard 0: debits_pending is 300 but its transfers sum to 0",
            f"account {books.fees.code} shard {number}: credits_pending is 300 but its transfers "
            "sum to 0",
        ]
    )
    assert problems[2:] == [
        f"account {books.cash.code} shard 41: transfers name a balance shard that does not exist",
        f"account {books.fees.code} shard 42: transfers name a balance shard that does not exist",
    ]


def test_ledger_check__credit_normal_account_below_zero(books):
    with check_constraints_off():
        shard(books.cash).update(debits_pending=950)
        result = ledger_check()

    # available = credits 1000 - debits 100 - pending debits 950
    assert result.problems == [
        "asset CNY: pending debits 950 != pending credits 300",
        f"account {books.cash.code} shard 0: debits_pending is 950 but its transfers sum to 300",
        f"account {books.cash.code}: available balance -50 is below zero",
    ]


def test_ledger_check__available_exactly_zero_is_allowed(books):
    shard(books.cash).update(debits_pending=900)

    assert ledger_check().problems == [
        "asset CNY: pending debits 900 != pending credits 300",
        f"account {books.cash.code} shard 0: debits_pending is 900 but its transfers sum to 300",
    ]


def test_ledger_check__debit_normal_account_below_zero(books):
    # the bank account is debit-normal; flag it and let credits and pending credits exceed it
    number = books.deposit.debit_shard
    with check_constraints_off():
        shard(books.bank, number).update(no_negative=True, credits_posted=600, credits_pending=500)
        result = ledger_check()

    # available = debits 1000 - credits 600 - pending credits 500
    assert result.problems == [
        "asset CNY: posted debits 1100 != posted credits 1700",
        "asset CNY: pending debits 300 != pending credits 800",
        f"account {books.bank.code} shard {number}: credits_posted is 600 but its transfers sum "
        "to 0",
        f"account {books.bank.code} shard {number}: credits_pending is 500 but its transfers sum "
        "to 0",
        f"account {books.bank.code}: available balance -100 is below zero",
    ]


def test_ledger_check__accounts_that_may_go_negative_are_not_reported(books):
    number = books.spent.credit_shard
    shard(books.fees, number).update(debits_posted=150)

    problems = ledger_check().problems

    assert not any("below zero" in problem for problem in problems)
    assert (
        f"account {books.fees.code} shard {number}: debits_posted is 150 but its transfers sum to 0"
    ) in problems


def test_ledger_check__available_is_summed_over_every_shard(books):
    # a second, empty shard of the cash account comes after the one holding the money
    Balance.objects.create(
        account=books.cash, shard=1, normal_side=books.cash.normal_side, no_negative=True
    )
    with check_constraints_off():
        shard(books.cash).update(debits_pending=950)
        problems = ledger_check().problems

    assert problems[-1] == f"account {books.cash.code}: available balance -50 is below zero"


def test_ledger_check__negative_accounts_are_reported_in_id_order(books, other_cash, fund):
    fund(other_cash, 10)
    with check_constraints_off():
        shard(other_cash).update(debits_pending=11)
        shard(books.cash).update(debits_pending=901)
        problems = ledger_check().problems

    first, second = sorted([books.cash, other_cash], key=lambda account: account.pk)
    assert [problem for problem in problems if "below zero" in problem] == [
        f"account {first.code}: available balance -1 is below zero",
        f"account {second.code}: available balance -1 is below zero",
    ]


# links -----------------------------------------------------------------------------------------


def resolution_problem(transfer) -> str:
    return f"transfer #{transfer.pk}: does not match the hold it resolves"


def reversal_problem(transfer) -> str:
    return f"transfer #{transfer.pk}: does not mirror the transfer it reverses"


def test_ledger_check__sound_resolution_and_reversal(books):
    resolution = services.hold_post(actor=books.finance, transfer_id=books.hold.pk)
    reversal = services.transfer_reverse(
        actor=books.finance, transfer_id=books.spent.pk, reason="wrong"
    ).transfer

    problems = ledger_check().problems

    assert problems == []
    assert resolution.pending_id == books.hold.pk
    assert reversal.reverses_id == books.spent.pk


@pytest.mark.parametrize(
    "change",
    ["amount", "debit_account", "credit_account", "pending_kind"],
)
def test_ledger_check__resolution_that_does_not_match_its_hold(books, change):
    resolution = services.hold_post(actor=books.finance, transfer_id=books.hold.pk)
    rows = Transfer.objects.filter(pk=resolution.pk)
    if change == "amount":
        rows.update(amount=299)
    elif change == "debit_account":
        rows.update(debit_account=books.bank)
    elif change == "credit_account":
        rows.update(credit_account=books.bank)
    else:  # the "hold" it names is an ordinary posted transfer
        Transfer.objects.filter(pk=books.hold.pk).update(kind="posted")

    assert resolution_problem(resolution) in ledger_check().problems


@pytest.mark.parametrize("change", ["amount", "debit_account", "credit_account"])
def test_ledger_check__reversal_that_does_not_mirror(books, change):
    reversal = services.transfer_reverse(
        actor=books.finance, transfer_id=books.spent.pk, reason="wrong"
    ).transfer
    rows = Transfer.objects.filter(pk=reversal.pk)
    if change == "amount":
        rows.update(amount=99)
    elif change == "debit_account":
        rows.update(debit_account=books.bank)
    else:
        rows.update(credit_account=books.bank)

    problems = ledger_check().problems

    assert reversal_problem(reversal) in problems
    assert not any("does not match the hold" in problem for problem in problems)


def test_ledger_check__at_most_100_lines_per_kind_of_broken_link(books):
    # rows inserted directly: 101 broken reversals and 101 broken resolutions
    common = {"asset": books.deposit.asset, "value_date": books.deposit.value_date}
    originals = Transfer.objects.bulk_create(
        Transfer(
            idempotency_key=f"orig-{n}",
            kind="posted",
            debit_account=books.cash,
            credit_account=books.fees,
            amount=1,
            **common,
        )
        for n in range(101)
    )
    Transfer.objects.bulk_create(
        Transfer(
            idempotency_key=f"rev-{n}",
            kind="posted",
            debit_account=books.fees,
            credit_account=books.cash,
            amount=2,
            reverses=original,
            **common,
        )
        for n, original in enumerate(originals)
    )
    holds = Transfer.objects.bulk_create(
        Transfer(
            idempotency_key=f"hold-{n}",
            kind="pending",
            debit_account=books.cash,
            credit_account=books.fees,
            amount=1,
            **common,
        )
        for n in range(101)
    )
    Transfer.objects.bulk_create(
        Transfer(
            idempotency_key=f"res-{n}",
            kind="post_pending",
            debit_account=books.cash,
            credit_account=books.fees,
            amount=2,
            pending=hold,
            **common,
        )
        for n, hold in enumerate(holds)
    )

    problems = ledger_check().problems

    assert sum("does not mirror the transfer it reverses" in p for p in problems) == 100
    assert sum("does not match the hold it resolves" in p for p in problems) == 100
