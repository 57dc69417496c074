"""Fixtures for loyalty points: staff per role, customers in and out of scope, purchases
recorded through retail (which earn through the seam), and helpers that check invariants."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from cpms.customers.services import customer_register
from cpms.ledger.checks import ledger_check
from cpms.points import selectors
from cpms.points.models import PointsLot
from cpms.privacy import keys
from cpms.retail.services import purchase_record, purchase_return
from cpms.users.choices import Role
from tests.customers.conftest import OTHER_RESIDENT_ID, individual


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1", display_name="经理一")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def service(make_user):
    return make_user(Role.CUSTOMER_SERVICE, username="service1")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


@pytest.fixture
def checker(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1")


@pytest.fixture
def customer(rm1):
    return customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))


@pytest.fixture
def other_customer(rm2):
    return customer_register(
        actor=rm2,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            phone="13900139000",
            email="li.si@example.com",
            relationship_manager_id=rm2.pk,
        ),
    )


def lines_28490() -> list[dict[str, Any]]:
    """2 × 100.00 clothes + 1 × 59.90 shoes + 3 × 10.00 home goods discounted to 25.00."""
    return [
        {"category": "服装", "sku": "CL-1", "quantity": 2, "unit_amount_minor": 10000},
        {"category": "鞋履", "description": "帆布鞋", "quantity": 1, "unit_amount_minor": 5990},
        {
            "category": "家居",
            "sku": "HM-3",
            "quantity": 3,
            "unit_amount_minor": 1000,
            "amount_minor": 2500,
        },
    ]


@pytest.fixture
def buy(rm1) -> Callable[..., Any]:
    """Record a purchase: buy(customer, days_ago=10, lines=None, total=None, reference=None)."""
    counter = iter(range(1, 10_000))

    def record(
        customer: Any,
        *,
        days_ago: int = 10,
        lines: list[dict[str, Any]] | None = None,
        amount: int | None = None,
        category: str = "服装",
        reference: str | None = None,
        actor: Any = None,
    ) -> Any:
        if lines is None:
            lines = (
                lines_28490()
                if amount is None
                else [
                    {
                        "category": category,
                        "sku": "X-1",
                        "quantity": 1,
                        "unit_amount_minor": amount,
                    }
                ]
            )
        total = sum(
            line.get("amount_minor") or line["quantity"] * line["unit_amount_minor"]
            for line in lines
        )
        return purchase_record(
            actor=actor or rm1,
            data={
                "customer_id": customer.pk,
                "reference": reference or f"P-{next(counter):04d}",
                "purchased_at": timezone.now() - datetime.timedelta(days=days_ago),
                "channel": "online",
                "currency": "CNY",
                "total_minor": total,
                "lines": lines,
            },
        )

    return record


@pytest.fixture
def give_back(rm1) -> Callable[..., Any]:
    """Record a return: give_back(purchase, {line_number: quantity}, refund=0)."""

    def record(purchase: Any, quantities: dict[int, int], refund: int = 0, kind="return"):
        return purchase_return(
            actor=rm1,
            purchase=purchase,
            data={
                "kind": kind,
                "reason": "damaged",
                "refund_minor": refund,
                "lines": [
                    {"line_number": number, "quantity": quantity}
                    for number, quantity in quantities.items()
                ],
            },
        )

    return record


def assert_books(customer: Any = None) -> None:
    """Ledger invariants hold and the customer's balance equals their lots' remainders."""
    result = ledger_check()
    assert result.ok, result
    if customer is not None:
        lots = PointsLot.objects.filter(customer=customer)
        earned = lots.aggregate(total=Sum("points"))["total"] or 0
        used = lots.aggregate(total=Sum("uses__points"))["total"] or 0
        assert selectors.balance(customer) == earned - used
