"""portfolio_valuation: units from the ledger, costs from the trades, prices on or before the
valuation date, missing prices, totals per currency."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cpms.ledger.checks import ledger_check
from cpms.portfolios import selectors
from cpms.portfolios.errors import PortfolioNotFound
from tests.portfolios.conftest import fund_customer, register_portfolio


@pytest.fixture
def traded(book, cash, price, today):
    """600519: buy 100 @ 10 (fee 5.00), buy 50 @ 12 (fee 3.00), sell 60 @ 13 (fee 4.00);
    601318: buy 10 @ 50; prices for 600519 only."""
    earlier = today - datetime.timedelta(days=10)
    book("buy", "100", "10.00", fee_minor=500, trade_date=earlier)
    book("buy", "50", "12.00", fee_minor=300, trade_date=earlier)
    book("sell", "60", "13.00", fee_minor=400)
    book("buy", "10", "50", instrument_code="601318")
    price("600519", "9.00", today - datetime.timedelta(days=20))
    price("600519", "11.50", today - datetime.timedelta(days=1))
    price("600519", "99.00", today + datetime.timedelta(days=1))  # after the valuation date


def test_portfolio_valuation__positions_with_gains_and_missing_price(traded, finance, portfolio):
    valuation = selectors.portfolio_valuation(user=finance, holding=portfolio)

    first, second = valuation.positions
    assert first.instrument_code == "600519"
    assert (first.units_minor, first.units) == (900_000, "90.0000")
    assert first.average_cost == Decimal("10.72")
    assert first.book_cost_minor == 96_480
    assert (first.last_price, first.priced_on) == (
        Decimal("11.5"),
        valuation.as_of - datetime.timedelta(days=1),
    )
    assert first.market_value_minor == 103_500  # 90 x 11.50
    assert first.unrealised_minor == 7_020
    assert first.unrealised_percent == Decimal("7.28")  # 70.20 / 964.80
    assert first.realised_minor == 13_280
    assert second.instrument_code == "601318"
    assert (second.units_minor, second.book_cost_minor) == (100_000, 50_000)
    assert second.last_price is None
    assert second.market_value_minor is None and second.unrealised_minor is None
    [total] = valuation.totals
    assert total.currency == "CNY"
    assert total.book_cost_minor == 146_480
    assert total.market_value_minor is None and total.unrealised_minor is None
    assert total.missing_prices == ["601318"]
    assert total.realised_minor == 13_280
    assert ledger_check().ok


def test_portfolio_valuation__complete_prices_give_totals(traded, finance, portfolio, price, today):
    price("601318", "45.00", today)
    [total] = selectors.portfolio_valuation(user=finance, holding=portfolio).totals
    assert total.market_value_minor == 103_500 + 45_000
    assert total.unrealised_minor == 7_020 - 5_000
    assert total.missing_prices == []


def test_portfolio_valuation__as_of_a_past_date(traded, finance, portfolio, today):
    as_of = today - datetime.timedelta(days=5)
    valuation = selectors.portfolio_valuation(user=finance, holding=portfolio, as_of=as_of)

    [row] = valuation.positions  # the sell and 601318 came later
    assert row.units_minor == 1_500_000
    assert row.book_cost_minor == 160_800
    assert row.average_cost == Decimal("10.72")
    assert row.last_price == Decimal("9.00")
    assert row.market_value_minor == 135_000
    assert row.unrealised_minor == 135_000 - 160_800
    assert row.unrealised_percent == Decimal("-16.04")
    assert row.realised_minor == 0


def test_portfolio_valuation__totals_per_currency(
    book, cash, customer, finance, portfolio, price, today
):
    fund_customer(customer, 1_000_00, "USD")
    book("buy", "2", "100", currency="USD", instrument_code="AAPL")
    book("buy", "1", "10")
    price("AAPL", "110", today, "USD")
    price("600519", "8", today)
    totals = selectors.portfolio_valuation(user=finance, holding=portfolio).totals
    assert [
        (t.currency, t.book_cost_minor, t.market_value_minor, t.unrealised_minor) for t in totals
    ] == [
        ("CNY", 1_000, 800, -200),
        ("USD", 20_000, 22_000, 2_000),
    ]


def test_portfolio_valuation__empty_portfolio(finance, portfolio):
    valuation = selectors.portfolio_valuation(user=finance, holding=portfolio)
    assert valuation.positions == [] and valuation.totals == []


def test_portfolio_valuation__out_of_scope_looks_missing(traded, far_finance, rm, portfolio):
    for user in (far_finance,):
        with pytest.raises(PortfolioNotFound):
            selectors.portfolio_valuation(user=user, holding=portfolio)


def test_portfolio_list__only_portfolios_in_scope(
    finance, far_finance, auditor, rm, customer, portfolio
):
    from cpms.holdings.services import holding_register

    holding_register(
        actor=rm,
        customer=customer,
        kind="membership",
        identifier="M-1",
        details={"programme": "悦享会员", "member_number": "M-1"},
    )
    second = register_portfolio(rm, customer, "PF-2")
    assert sorted(selectors.portfolio_list(user=finance).values_list("pk", flat=True)) == [
        portfolio.pk,
        second.pk,
    ]
    assert list(selectors.portfolio_list(user=far_finance)) == []
    assert selectors.portfolio_list(user=auditor).count() == 2
    assert list(selectors.portfolio_list(user=finance, q="PF-2")) == [second]


def test_portfolio_valuations__fixed_query_count(
    traded, finance, portfolio, rm, customer, django_assert_max_num_queries
):
    second = register_portfolio(rm, customer, "PF-2")
    with django_assert_max_num_queries(6):
        result = selectors.portfolio_valuations([portfolio, second])
    assert result[second.pk].positions == []
    assert len(result[portfolio.pk].positions) == 2
