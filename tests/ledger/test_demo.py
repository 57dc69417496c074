"""The ledger demo: realistic movements for the demo finance customers, deterministic and
idempotent, invariants hold afterwards."""

from __future__ import annotations

import random

import pytest
from django.db import transaction

from cpms.ledger import demo
from cpms.ledger.checks import ledger_check
from cpms.ledger.choices import TransferKind
from cpms.ledger.models import Account, PeriodClose, Transfer


def _counts() -> dict[str, int]:
    return {
        "accounts": Account.objects.count(),
        "transfers": Transfer.objects.count(),
        "pending": Transfer.objects.filter(kind=TransferKind.PENDING).count(),
        "awaiting": Transfer.objects.filter(approval_request__isnull=False).count(),
        "reversals": Transfer.objects.filter(reverses__isnull=False).count(),
        "closes": PeriodClose.objects.count(),
    }


def test_demo__nothing_without_demo_finance_customers(finance, customer):
    assert demo.load(rng=random.Random(1), options={}) == []
    assert Transfer.objects.count() == 0


@pytest.fixture
def demo_world(db):
    """The users, customers and holdings demos (branches, finance1, demo-finance customers
    with their DEMO-AC property items)."""
    from cpms.access import demo as users_demo
    from cpms.customers import demo as customers_demo
    from cpms.holdings import demo as holdings_demo

    with transaction.atomic():
        for module in (users_demo, customers_demo, holdings_demo):
            module.load(rng=random.Random(f"3:{module.__name__}"), options={})


def test_demo__idempotent_and_invariants_hold(demo_world):
    from cpms.users.models import User

    created = demo.load(rng=random.Random("3:cpms.ledger.demo"), options={})
    created += demo.finish(rng=random.Random("3:finish"), options={})
    first = _counts()
    again = demo.load(rng=random.Random("3:cpms.ledger.demo"), options={})
    again += demo.finish(rng=random.Random("3:finish"), options={})

    assert again == []
    assert _counts() == first
    assert first["accounts"] >= 3
    assert first["transfers"] >= 10
    assert first["pending"] == 2  # one plain hold, one deposit awaiting approval
    assert first["awaiting"] == 1
    assert first["reversals"] == 1
    assert first["closes"] == 1
    assert any(line.startswith("period closed through") for line in created)
    # each customer's ledger is posted by the finance officer of its branch
    finance = set(User.objects.filter(username__startswith="finance").values_list("pk", flat=True))
    assert set(Transfer.objects.values_list("created_by", flat=True)) <= finance
    linked = Account.objects.filter(kind="customer", holding__isnull=False)
    assert linked.count() == Account.objects.filter(kind="customer").count()
    assert all(
        account.holding.identifier == f"DEMO-AC-{account.customer.customer_number}"
        for account in linked.select_related("holding", "customer")
    )
    result = ledger_check()
    assert result.ok, result.problems
