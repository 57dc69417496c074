"""Scoped reads of portfolio trading: portfolios (holdings of kind "portfolio") visible with
`ledger.view`, their trades, and their valuation on a date. A portfolio is visible when its
owner customer is (branch, assigned relationship manager); out of scope looks like missing."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Max, Q, QuerySet, Sum

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.core.money import minor_exponent, to_minor
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import Holding, InstrumentPrice
from cpms.ledger import assets, engine
from cpms.ledger.choices import POSTED_KINDS, AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.ledger.selectors import balances_for
from cpms.portfolios.errors import PortfolioNotFound
from cpms.portfolios.models import VIEW_PERMISSION, Trade


@dataclass(frozen=True)
class PositionValuation:
    instrument_code: str
    currency: str
    units_minor: int
    average_cost: Decimal | None  # per unit, in currency (8 decimals)
    book_cost_minor: int
    last_price: Decimal | None
    priced_on: datetime.date | None
    market_value_minor: int | None
    unrealised_minor: int | None
    unrealised_percent: Decimal | None
    realised_minor: int

    @property
    def units(self) -> str:
        return assets.format_minor(self.units_minor, assets.UNITS_EXPONENT)


@dataclass
class CurrencyTotal:
    currency: str
    book_cost_minor: int = 0
    market_value_minor: int | None = 0  # None when a position has no price
    unrealised_minor: int | None = 0
    realised_minor: int = 0
    missing_prices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PortfolioValuation:
    holding: Holding
    as_of: datetime.date
    positions: list[PositionValuation]
    totals: list[CurrencyTotal]


def portfolio_list(*, user: Any, q: str | None = None) -> QuerySet[Holding]:
    """Portfolio holdings the user may see with `ledger.view`."""
    require_permission(user, VIEW_PERMISSION)
    query = scoped(
        Holding.objects.filter(kind=HoldingKind.PORTFOLIO), user=user, permission=VIEW_PERMISSION
    ).select_related("customer")
    text = (q or "").strip()
    if text:
        query = query.filter(
            Q(holding_number=text)
            | Q(customer__customer_number=text)
            | Q(identifier__icontains=text)
            | Q(description__icontains=text)
        )
    return query


def portfolio_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Holding:
    require_permission(user, permission)
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise PortfolioNotFound() from None
    holding = (
        scoped(Holding.objects.all(), user=user, permission=permission)
        .select_related("customer")
        .filter(pk=number, kind=HoldingKind.PORTFOLIO)
        .first()
    )
    if holding is None:
        raise PortfolioNotFound()
    return holding


def trade_list(*, user: Any, holding: Holding, instrument: str | None = None) -> QuerySet[Trade]:
    """Trades of a portfolio, newest first."""
    portfolio_get_for_user(user=user, pk=holding.pk)
    query = Trade.objects.filter(holding=holding)
    if instrument:
        query = query.filter(instrument_code=instrument.strip().upper())
    return query.order_by("-pk")


def prices_on(codes: Any, as_of: datetime.date) -> dict[tuple[str, str], InstrumentPrice]:
    """(instrument, currency) -> the latest price on or before `as_of`."""
    latest: dict[tuple[str, str], InstrumentPrice] = {}
    rows = InstrumentPrice.objects.filter(
        instrument_code__in=set(codes), priced_on__lte=as_of
    ).order_by("instrument_code", "currency", "-priced_on", "-imported_at", "-pk")
    for price in rows:
        latest.setdefault((price.instrument_code, price.currency), price)
    return latest


def _units_on(accounts: list[Account], as_of: datetime.date) -> dict[int, int]:
    """Posted units of each account: the ledger balance, or for a past date the transfers with
    a value date on or before it."""
    if as_of >= engine.today():
        return {pk: balance.posted for pk, balance in balances_for(accounts).items()}
    units: dict[int, int] = defaultdict(int)
    posted = Transfer.objects.filter(kind__in=POSTED_KINDS, value_date__lte=as_of)
    ids = [account.pk for account in accounts]
    credits = posted.filter(credit_account_id__in=ids).values("credit_account_id")
    for row in credits.annotate(total=Sum("amount")):
        units[row["credit_account_id"]] += row["total"]
    debits = posted.filter(debit_account_id__in=ids).values("debit_account_id")
    for row in debits.annotate(total=Sum("amount")):
        units[row["debit_account_id"]] -= row["total"]
    return units  # customer_units accounts are credit-normal


def _percent(gain: int, cost: int) -> Decimal | None:
    if cost <= 0:
        return None
    return (Decimal(gain) * 100 / Decimal(cost)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _position(
    code: str, currency: str, units: int, last: Trade | None, realised: int, price: Any
) -> PositionValuation:
    cost = last.cost_after_minor if last is not None else 0
    average = None
    if units > 0 and last is not None:
        average = last.average_cost_after
        if last.units_after_minor != units:  # units moved outside trades
            average = (
                (Decimal(cost) / Decimal(units) * Decimal(10) ** assets.UNITS_EXPONENT)
                .scaleb(-minor_exponent(currency))
                .quantize(Decimal("0.00000001"))
            )
    market = gain = None
    if price is not None:
        market = to_minor(Decimal(units).scaleb(-assets.UNITS_EXPONENT) * price.price, currency)
        gain = market - cost
    return PositionValuation(
        instrument_code=code,
        currency=currency,
        units_minor=units,
        average_cost=average,
        book_cost_minor=cost,
        last_price=price.price if price is not None else None,
        priced_on=price.priced_on if price is not None else None,
        market_value_minor=market,
        unrealised_minor=gain,
        unrealised_percent=_percent(gain, cost) if gain is not None else None,
        realised_minor=realised,
    )


def _totals(positions: list[PositionValuation]) -> list[CurrencyTotal]:
    totals: dict[str, CurrencyTotal] = {}
    for row in positions:
        total = totals.setdefault(row.currency, CurrencyTotal(row.currency))
        total.book_cost_minor += row.book_cost_minor
        total.realised_minor += row.realised_minor
        if row.market_value_minor is None:
            if row.units_minor != 0:
                total.missing_prices.append(row.instrument_code)
                total.market_value_minor = total.unrealised_minor = None
            continue
        if total.market_value_minor is not None and total.unrealised_minor is not None:
            total.market_value_minor += row.market_value_minor
            total.unrealised_minor += row.unrealised_minor or 0
    return [totals[code] for code in sorted(totals)]


def portfolio_valuations(
    holdings: list[Holding], as_of: datetime.date | None = None
) -> dict[int, PortfolioValuation]:
    """Valuations of many portfolios in a fixed number of queries (list pages). The caller got
    `holdings` through a scoped selector. Per instrument: units from the ledger (the
    customer_units account of the portfolio), average and book cost from the last trade on or
    before `as_of`, the last price on or before `as_of` in the position's currency, market
    value, unrealised gain and realised gains to date; totals per currency (no conversion)."""
    as_of = as_of or engine.today()
    pks = [holding.pk for holding in holdings]
    accounts = list(
        Account.objects.select_related("asset").filter(
            holding_id__in=pks, purpose=AccountPurpose.CUSTOMER_UNITS
        )
    )
    units = _units_on(accounts, as_of)
    trades = Trade.objects.filter(holding_id__in=pks, trade_date__lte=as_of)
    groups = trades.values("holding_id", "instrument_code").annotate(
        realised=Sum("realised_minor"), last=Max("pk")
    )
    realised = {(g["holding_id"], g["instrument_code"]): g["realised"] for g in groups}
    last_ids = [g["last"] for g in groups]
    last = {(t.holding_id, t.instrument_code): t for t in Trade.objects.filter(pk__in=last_ids)}
    held: dict[tuple[int, str], int] = defaultdict(int)
    for account in accounts:
        code = account.asset.code[len(assets.UNITS_PREFIX) :]
        held[(account.holding_id, code)] += units.get(account.pk, 0)
    keys = {key for key, value in held.items() if value != 0} | set(last)
    currencies = {key: (last[key].currency if key in last else None) for key in keys}
    holding_by_pk = {holding.pk: holding for holding in holdings}
    for key, currency in currencies.items():
        if currency is None:
            currencies[key] = holding_by_pk[key[0]].currency
    prices = prices_on({code for _pk, code in keys}, as_of)
    result: dict[int, PortfolioValuation] = {}
    for holding in holdings:
        positions = [
            _position(
                code,
                currencies[(pk, code)],
                held.get((pk, code), 0),
                last.get((pk, code)),
                realised.get((pk, code), 0),
                prices.get((code, currencies[(pk, code)])),
            )
            for pk, code in sorted(key for key in keys if key[0] == holding.pk)
        ]
        result[holding.pk] = PortfolioValuation(holding, as_of, positions, _totals(positions))
    return result


def portfolio_valuation(
    *, user: Any, holding: Holding, as_of: datetime.date | None = None
) -> PortfolioValuation:
    portfolio = portfolio_get_for_user(user=user, pk=holding.pk)
    return portfolio_valuations([portfolio], as_of)[portfolio.pk]
