"""Fixtures for the ledger: finance staff, a customer with money and points accounts, the
firm's internal accounts, and a `fund` helper that credits a customer from the bank account."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from cpms.customers.services import customer_register
from cpms.ledger import services
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account
from cpms.privacy import keys
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
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1", display_name="财务一")


@pytest.fixture
def checker(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance2", display_name="财务二")


@pytest.fixture
def rm(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1")


@pytest.fixture
def customer(rm):
    return customer_register(actor=rm, data=individual(relationship_manager_id=rm.pk))


@pytest.fixture
def other_customer(rm):
    return customer_register(
        actor=rm,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            phone="13900139000",
            email="li.si@example.com",
            relationship_manager_id=rm.pk,
        ),
    )


def _ensure(**kwargs) -> Account:
    with transaction.atomic():
        if "customer" in kwargs:
            return services.customer_account(**kwargs)
        return services.internal_account(**kwargs)


@pytest.fixture
def bank(db) -> Account:
    return _ensure(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)


@pytest.fixture
def fees(db) -> Account:
    return _ensure(asset_code="CNY", purpose=AccountPurpose.FEES)


@pytest.fixture
def cash(customer) -> Account:
    return _ensure(customer=customer, asset_code="CNY", purpose=AccountPurpose.CUSTOMER_CASH)


@pytest.fixture
def other_cash(other_customer) -> Account:
    return _ensure(customer=other_customer, asset_code="CNY", purpose=AccountPurpose.CUSTOMER_CASH)


@pytest.fixture
def fund(finance, bank) -> Callable[..., object]:
    """Credit `account` with `amount` from the client-money bank account."""

    def credit(account: Account, amount: int, **extra):
        return services.transfer_post(
            actor=finance,
            data={
                "debit_account": bank.code,
                "credit_account": account.code,
                "amount_minor": amount,
                **extra,
            },
        ).transfer

    return credit
