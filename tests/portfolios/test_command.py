"""`cpms portfolios trades import FILE`: all-or-nothing, every refused row reported."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from cpms.ledger.models import Transfer
from cpms.portfolios.models import Trade

HEADER = (
    "portfolio,side,instrument_code,quantity,price,currency,fee_minor,trade_date,idempotency_key\n"
)


def run(tmp_path, finance, text: str) -> str:
    path = tmp_path / "trades.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command(
        "portfolios", "--actor", finance.username, "trades", "import", str(path), stdout=out
    )
    return out.getvalue()


def test_trades_import__books_rows_in_order_and_replays(tmp_path, finance, cash, portfolio):
    number = portfolio.holding_number
    text = (
        HEADER
        + f"{number},buy,600519,100,10.00,CNY,500,2026-01-05,imp-1\n"
        + f"{number},sell,600519,40,12.00,CNY,0,2026-01-06,imp-2\n"
    )
    assert run(tmp_path, finance, text).strip() == "2 trades booked, 0 already booked (replays)."
    sold = Trade.objects.get(idempotency_key="imp-2")
    assert (sold.units_after_minor, sold.realised_minor) == (600_000, 48_000 - 40_200)
    assert run(tmp_path, finance, text).strip() == "0 trades booked, 2 already booked (replays)."


def test_trades_import__any_bad_row_books_nothing(tmp_path, finance, cash, portfolio):
    number = portfolio.holding_number
    text = (
        HEADER
        + f"{number},buy,600519,100,10.00,CNY,500,2026-01-05,imp-1\n"
        + f"{number},sell,600519,400,12.00,CNY,0,2026-01-06,imp-2\n"
        + "PX-404,buy,600519,1,1,CNY,0,2026-01-06,imp-3\n"
        + f"{number},buy,600519,1.00001,1,CNY,0,2026-01-06,imp-4\n"
    )
    transfers = Transfer.objects.count()
    with pytest.raises(CommandError) as caught:
        run(tmp_path, finance, text)
    message = str(caught.value)
    assert (
        "row 3.quantity: Cannot sell 400.0000 units of 600519: the portfolio holds 100.0000."
        in message
    )
    assert "row 4.portfolio: No portfolio PX-404." in message
    assert "row 5.quantity" in message
    assert Trade.objects.count() == 0
    assert Transfer.objects.count() == transfers


def test_trades_import__missing_columns_are_named(tmp_path, finance, cash):
    with pytest.raises(CommandError) as caught:
        run(tmp_path, finance, "portfolio,side\nX,buy\n")
    assert "Missing columns: instrument_code, quantity, price, trade_date." in str(caught.value)
