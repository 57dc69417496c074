"""trade_book: ledger legs, average cost, realised gains, refusals that write nothing, replays."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied
from cpms.ledger import selectors as ledger_selectors
from cpms.ledger.checks import ledger_check
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import InsufficientFunds, PeriodClosed
from cpms.ledger.models import Account, Balance, PeriodClose, Transfer
from cpms.portfolios.errors import PortfolioNotFound, TradeKeyConflict, TradeNotValid
from cpms.portfolios.models import Trade
from tests.portfolios.conftest import FUNDED, register_portfolio


def balance(code: str) -> int:
    return ledger_selectors.account_balance(Account.objects.get(code=code)).posted


def units_code(portfolio, instrument: str = "600519") -> str:
    return f"C{portfolio.customer_id}:CUSTOMER_UNITS:U:{instrument}:H{portfolio.pk}"


def state() -> tuple:
    return (
        Trade.objects.count(),
        Transfer.objects.count(),
        Account.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
        tuple(Balance.objects.order_by("pk").values_list("debits_posted", "credits_posted")),
    )


def test_trade_book__buy_posts_cash_fee_and_units_legs(book, cash, portfolio, finance):
    outcome = book("buy", "100", "10.005", fee_minor=500, reference="BR-1")

    trade = outcome.trade
    assert outcome.replayed is False
    assert (trade.quantity_minor, trade.gross_minor, trade.fee_minor) == (1_000_000, 100_050, 500)
    assert trade.cash_minor == 100_550
    assert balance(cash.code) == FUNDED - 100_550
    assert balance("INT:SETTLEMENT:CNY") == -100_050  # debit-normal: owed out to the market
    assert balance("INT:FEES:CNY") == 500
    assert balance(units_code(portfolio)) == 1_000_000
    assert balance("INT:UNITS_CUSTODY:U:600519") == 1_000_000
    assert trade.cash_transfer.debit_account_id == cash.pk
    assert trade.units_transfer.credit_account.code == units_code(portfolio)
    assert trade.fee_transfer.amount == 500
    assert trade.cash_transfer.value_date == trade.trade_date
    entry = AuditEntry.objects.get(action=AuditAction.TRADE_BOOKED)
    assert entry.object_id == str(trade.pk)
    assert entry.actor_id == finance.pk
    assert sorted(entry.after["transfer_ids"]) == sorted(
        [trade.cash_transfer_id, trade.units_transfer_id, trade.fee_transfer_id]
    )
    assert ledger_check().ok


def test_trade_book__average_cost_over_buy_buy_sell_buy(book, cash, portfolio):
    first = book("buy", "100", "10.00", fee_minor=500).trade
    second = book("buy", "50", "12.00", fee_minor=300).trade
    sold = book("sell", "60", "13.00", fee_minor=400).trade
    last = book("buy", "30", "9.50").trade

    assert (first.cost_after_minor, first.average_cost_after) == (100_500, Decimal("10.05"))
    assert (second.cost_after_minor, second.average_cost_after) == (160_800, Decimal("10.72"))
    # sell: proceeds 780.00 - fee 4.00 = 776.00; cost released 1608.00 x 60/150 = 643.20
    assert sold.gross_minor == 78_000
    assert sold.cash_minor == 77_600
    assert sold.cost_released_minor == 64_320
    assert sold.realised_minor == 13_280
    assert (sold.units_after_minor, sold.cost_after_minor) == (900_000, 96_480)
    assert sold.average_cost_after == Decimal("10.72")  # unchanged by the sell
    assert (last.units_after_minor, last.cost_after_minor) == (1_200_000, 124_980)
    assert last.average_cost_after == Decimal("10.415")
    assert balance(cash.code) == FUNDED - 100_500 - 60_300 + 77_600 - 28_500
    assert balance("INT:FEES:CNY") == 1_200
    assert balance(units_code(portfolio)) == 1_200_000
    assert ledger_check().ok


def test_trade_book__selling_everything_releases_the_whole_cost(book, cash):
    book("buy", "3", "10.00", fee_minor=1)  # cost 30.01, average 10.00333333
    sold = book("sell", "3", "11.00").trade

    assert sold.cost_released_minor == 3_001
    assert sold.realised_minor == 3_300 - 3_001
    assert (sold.units_after_minor, sold.cost_after_minor) == (0, 0)
    assert sold.average_cost_after is None


def test_trade_book__quantity_times_price_rounds_half_up(book, cash):
    assert book("buy", "2.5", "0.01").trade.gross_minor == 3  # 0.025 -> 0.03 (not 0.02)
    assert book("buy", "3.3333", "1.005").trade.gross_minor == 335  # 3.34996665
    assert book("buy", "0.0005", "10").trade.gross_minor == 1  # 0.005 -> 0.01


def test_trade_book__quantity_times_price_rounding_to_zero_is_refused(book, cash):
    before = state()
    with pytest.raises(TradeNotValid) as caught:
        book("buy", "0.0001", "0.01")
    assert "price" in caught.value.fields
    assert state() == before


def test_trade_book__overselling_is_refused_and_writes_nothing(book, cash, portfolio):
    book("buy", "90", "10")
    before = state()

    with pytest.raises(InsufficientFunds) as caught:
        book("sell", "100", "11", fee_minor=100)

    assert caught.value.code == "ledger.insufficient_funds"
    assert caught.value.message == (
        "Cannot sell 100.0000 units of 600519: the portfolio holds 90.0000."
    )
    assert caught.value.fields == {"quantity": caught.value.message}
    assert state() == before


def test_trade_book__selling_an_instrument_never_bought_writes_nothing(book, cash, portfolio):
    before = state()
    with pytest.raises(InsufficientFunds) as caught:
        book("sell", "1", "11", instrument_code="601318")
    assert "holds 0.0000" in caught.value.message
    assert state() == before  # not even the units accounts were opened


def test_trade_book__buy_without_enough_cash_is_refused(book, cash):
    before = state()
    with pytest.raises(InsufficientFunds) as caught:
        book("buy", "1000", "100.00", fee_minor=1)
    assert caught.value.message == (
        f"The buy needs 100000.01 CNY (amount and fee) but the customer's cash account "
        f"{cash.code} holds 100000.00 CNY."
    )
    assert state() == before


def test_trade_book__replay_returns_the_original_and_books_nothing(book, cash):
    first = book("buy", "10", "10", idempotency_key="order-1", fee_minor=5)
    before = state()

    again = book("buy", "10", "10", idempotency_key="order-1", fee_minor=5)

    assert again.replayed is True
    assert again.trade.pk == first.trade.pk
    assert state() == before


def test_trade_book__same_key_other_content_is_refused(book, cash):
    book("buy", "10", "10", idempotency_key="order-1")
    before = state()
    with pytest.raises(TradeKeyConflict) as caught:
        book("buy", "11", "10", idempotency_key="order-1")
    assert caught.value.code == "portfolios.idempotency_conflict"
    assert state() == before


def test_trade_book__without_ledger_post_is_denied(book, cash, rm, auditor):
    before = state()
    for actor in (rm, auditor):
        with pytest.raises(PermissionDenied):
            book("buy", "1", "10", actor=actor)
    assert state() == before


def test_trade_book__portfolio_out_of_scope_looks_missing(book, cash, far_finance):
    before = state()
    with pytest.raises(PortfolioNotFound):
        book("buy", "1", "10", actor=far_finance)
    assert state() == before


def test_trade_book__other_kinds_of_holding_are_not_portfolios(book, cash, rm, customer):
    from cpms.holdings.services import holding_register

    contract = holding_register(
        actor=rm,
        customer=customer,
        kind="membership",
        identifier="M-1",
        details={"programme": "悦享会员", "member_number": "M-1"},
    )
    with pytest.raises(PortfolioNotFound):
        book("buy", "1", "10", holding=contract)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": "1.00001"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"price": "-1"}, "price"),
        ({"fee_minor": -1}, "fee_minor"),
        ({"side": "hold"}, "side"),
        ({"instrument_code": "60 05"}, "instrument_code"),
        ({"currency": "XYZ"}, "currency"),
        ({"trade_date": datetime.date(2999, 1, 1)}, "trade_date"),
        ({"settlement_date": datetime.date(2000, 1, 1)}, "settlement_date"),
    ],
)
def test_trade_book__invalid_input_names_the_field(book, cash, overrides, field):
    data = {"side": "buy", "quantity": "1", "price": "10", **overrides}
    side, quantity, price = data.pop("side"), data.pop("quantity"), data.pop("price")
    before = state()
    with pytest.raises(TradeNotValid) as caught:
        book(side, quantity, price, **data)
    assert field in caught.value.fields
    assert state() == before


def test_trade_book__sell_fee_must_be_below_proceeds(book, cash):
    book("buy", "1", "10")
    with pytest.raises(TradeNotValid) as caught:
        book("sell", "1", "10", fee_minor=1_000)
    assert caught.value.fields == {
        "fee_minor": "The fee must be less than the proceeds of the sale (10.00)."
    }


def test_trade_book__instrument_keeps_its_currency(book, cash, customer):
    from tests.portfolios.conftest import fund_customer

    fund_customer(customer, 100_000, "USD")
    book("buy", "1", "10")
    with pytest.raises(TradeNotValid) as caught:
        book("buy", "1", "10", currency="USD")
    assert caught.value.fields == {
        "currency": "600519 is held in CNY in this portfolio; trade it in CNY."
    }
    assert book("buy", "1", "10", currency="USD", instrument_code="AAPL").trade.currency == "USD"


def test_trade_book__closed_period_is_refused_on_the_trade_date(book, cash, finance, today):
    PeriodClose.objects.create(through=today - datetime.timedelta(days=2), closed_by=finance)
    before = state()
    with pytest.raises(PeriodClosed) as caught:
        book("buy", "1", "10", trade_date=today - datetime.timedelta(days=3))
    assert list(caught.value.fields) == ["trade_date"]
    assert state() == before


def test_trade_book__portfolios_keep_separate_positions(book, cash, rm, customer, portfolio):
    second = register_portfolio(rm, customer, "PF-2")
    book("buy", "10", "10")
    book("buy", "5", "20", holding=second)
    with pytest.raises(InsufficientFunds):
        book("sell", "6", "20", holding=second)
    assert balance(units_code(portfolio)) == 100_000
    assert balance(units_code(second)) == 50_000
    assert Account.objects.filter(purpose=AccountPurpose.CUSTOMER_UNITS).count() == 2
    assert ledger_check().ok
