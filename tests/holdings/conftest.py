"""Fixtures of the property register: staff per scope and customers they manage."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from cpms.customers.services import customer_register
from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.customers.conftest import OTHER_RESIDENT_ID, individual

CARD = "6222021234567890128"  # passes Luhn
CARD_LUHN_FAIL = "6222021234567890123"
IBAN = "GB82 WEST 1234 5698 7654 32"


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
def far_finance(make_user, far_branch):
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far_branch)


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1")


@pytest.fixture
def compliance(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance1")


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


def loan_details(**overrides: Any) -> dict[str, Any]:
    data = {
        "principal_minor": 120_000,
        "currency": "CNY",
        "annual_rate_percent": "12",
        "term_months": 12,
        "method": "equal_principal",
        "start_date": datetime.date(2026, 1, 31),
    }
    data.update(overrides)
    return data


def account_details(**overrides: Any) -> dict[str, Any]:
    data = {"account_type": "card", "institution": "中国工商银行", "number": CARD}
    data.update(overrides)
    return data


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client
