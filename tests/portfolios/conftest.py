# ruff: noqa: F811 (fixtures imported from tests/ledger/conftest.py are used by name)
"""Fixtures for portfolio trading: finance staff (ledger.post in branch T01), a customer with a
portfolio holding and money in its cash account, a far-branch finance officer, prices, and a
`book` helper."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from cpms.holdings.models import InstrumentPrice
from cpms.holdings.services import holding_register
from cpms.ledger import engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account
from cpms.portfolios import services
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.ledger.conftest import (  # noqa: F401 (fixtures)
    _fast_passwords,
    _fresh_key_cache,
    customer,
    finance,
    other_customer,
    rm,
)

FUNDED = 10_000_000  # 100,000.00 CNY


@pytest.fixture
def today() -> datetime.date:
    return engine.today()


@pytest.fixture
def far_finance(make_user):
    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far)


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


def register_portfolio(rm: Any, customer: Any, identifier: str = "PF-1") -> Any:
    return holding_register(
        actor=rm,
        customer=customer,
        kind="portfolio",
        identifier=identifier,
        description="证券投资组合",
        details={"positions": []},
    )


@pytest.fixture
def portfolio(rm, customer):
    return register_portfolio(rm, customer)


def fund_customer(customer: Any, amount: int, currency: str = "CNY") -> Account:
    with transaction.atomic():
        cash = ledger.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code=currency
        )
        bank = ledger.internal_account(asset_code=currency, purpose=AccountPurpose.CLIENT_BANK)
        ledger.post_internal(
            actor=None,
            specs=[ledger.TransferSpec(debit_account=bank, credit_account=cash, amount=amount)],
        )
    return cash


@pytest.fixture
def cash(customer) -> Account:
    return fund_customer(customer, FUNDED)


@pytest.fixture
def price() -> Callable[..., InstrumentPrice]:
    def add(code: str, value: str, day: datetime.date, currency: str = "CNY") -> InstrumentPrice:
        return InstrumentPrice.objects.create(
            instrument_code=code, price=Decimal(value), currency=currency, priced_on=day
        )

    return add


@pytest.fixture
def book(finance, portfolio, today) -> Callable[..., services.TradeOutcome]:
    def trade(side: str, quantity: str, price: str, **extra: Any) -> services.TradeOutcome:
        actor = extra.pop("actor", finance)
        holding = extra.pop("holding", portfolio)
        data = {
            "side": side,
            "instrument_code": extra.pop("instrument_code", "600519"),
            "quantity": quantity,
            "price": price,
            "trade_date": extra.pop("trade_date", today),
            **extra,
        }
        return services.trade_book(actor=actor, holding=holding, data=data)

    return trade
