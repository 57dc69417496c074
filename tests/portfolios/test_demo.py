"""The demo: trades for the demo portfolios, idempotent, with gains and losses."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction

from cpms.holdings.services import holding_register
from cpms.ledger.checks import ledger_check
from cpms.portfolios import demo, selectors
from cpms.portfolios.models import Trade


def test_load__books_trades_once_and_valuation_has_gains_and_losses(
    finance, rm, customer, price, today
):
    holding = holding_register(
        actor=rm,
        customer=customer,
        kind="portfolio",
        identifier=f"{demo.PREFIX}1",
        details={
            "positions": [
                {
                    "instrument_code": "600519",
                    "instrument_name": "贵州茅台",
                    "asset_class": "equity",
                    "quantity": Decimal("300"),
                    "cost_minor": 300 * 150_000,
                },
                {
                    "instrument_code": "510300",
                    "instrument_name": "沪深300ETF",
                    "asset_class": "fund",
                    "quantity": Decimal("4000"),
                    "cost_minor": 4000 * 398,
                },
            ]
        },
    )
    price("600519", "1480.50", today)
    price("510300", "4.50", today)

    with transaction.atomic():
        created = demo.load(rng=random.Random(7), options={})
    with transaction.atomic():
        again = demo.load(rng=random.Random(7), options={})

    assert any(line.startswith("funding ") for line in created)
    trades = Trade.objects.filter(holding=holding)
    assert trades.filter(side="buy").count() == 4
    assert again == []
    valuation = selectors.portfolio_valuation(user=finance, holding=holding)
    gains = {row.instrument_code: row.unrealised_minor for row in valuation.positions}
    assert gains["600519"] < 0 < gains["510300"]
    assert ledger_check().ok
