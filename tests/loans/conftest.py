"""Fixtures for loan servicing: finance staff, a customer with a loan holding (3 months,
12 % a year, 3 000.00 CNY, starting 2026-01-15), and a `make_loan` factory."""

from __future__ import annotations

import datetime

import pytest

from cpms.customers.services import customer_register
from cpms.holdings.services import holding_register
from cpms.privacy import keys
from cpms.users.choices import Role
from tests.customers.conftest import individual

START = datetime.date(2026, 1, 15)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1", display_name="财务一")


@pytest.fixture
def rm(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1")


@pytest.fixture
def customer(rm):
    return customer_register(actor=rm, data=individual(relationship_manager_id=rm.pk))


@pytest.fixture
def make_loan(rm, customer):
    counter = iter(range(1, 1000))

    def make(
        *,
        principal_minor: int = 300_000,
        rate: str = "12",
        term_months: int = 3,
        method: str = "equal_principal",
        start_date: datetime.date = START,
    ):
        return holding_register(
            actor=rm,
            customer=customer,
            kind="loan",
            identifier=f"LN-TEST-{next(counter)}",
            description="test loan",
            details={
                "principal_minor": principal_minor,
                "currency": "CNY",
                "annual_rate_percent": rate,
                "term_months": term_months,
                "method": method,
                "start_date": start_date,
            },
        )

    return make


@pytest.fixture
def loan(make_loan):
    return make_loan()
