"""Fixtures for retail records: staff per scope, customers, and a recorded purchase."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cpms.customers.services import customer_register
from cpms.privacy import keys
from cpms.retail import hooks
from cpms.retail.services import purchase_record
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.customers.conftest import OTHER_RESIDENT_ID, individual


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Staff here are created, never signed in with a password: skip Argon2's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def far_branch(db):
    return user_services.branch_ensure(actor=None, code="FAR", name="远方分行")


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
def far_finance(make_user, far_branch):
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far_branch)


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


def purchase_data(customer: Any, **overrides: Any) -> dict[str, Any]:
    """A store purchase of three lines: 2 × 100.00 + 1 × 59.90 + 3 × 10.00 discounted to 25.00."""
    data = {
        "customer_id": customer.pk,
        "reference": "R-0001",
        "purchased_at": timezone.now() - datetime.timedelta(days=10),
        "channel": "store",
        "store_code": "sh-01",
        "currency": "CNY",
        "total_minor": 20000 + 5990 + 2500,
        "note": "",
        "lines": [
            {"category": "服装", "sku": "CL-1", "quantity": 2, "unit_amount_minor": 10000},
            {"category": "鞋履", "description": "帆布鞋", "quantity": 1, "unit_amount_minor": 5990},
            {
                "category": "家居",
                "sku": "HM-3",
                "description": "杯子",
                "quantity": 3,
                "unit_amount_minor": 1000,
                "amount_minor": 2500,
            },
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def purchase(rm1, customer):
    return purchase_record(actor=rm1, data=purchase_data(customer))


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client


@pytest.fixture
def purchase_hook():
    """Register purchase hooks for one test (next to the ones apps registered), removed after."""
    names: list[str] = []

    def register(**handlers: Any) -> None:
        name = f"tests-{len(names)}"
        hooks.register(name, **handlers)
        names.append(name)

    yield register
    for name in names:
        hooks.unregister(name)
