"""API of portfolio trading, mounted at /api/v1/portfolios/ by cpms.config.api (token scope
area `ledger`). Amounts are integer minor units; quantities exact decimal text."""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, CursorPagination, keyset_page
from cpms.holdings.models import Holding
from cpms.ledger import assets
from cpms.portfolios import selectors, services
from cpms.portfolios.models import TRADE_PERMISSION, VIEW_PERMISSION, Trade
from cpms.portfolios.schemas import (
    PortfolioDetailOut,
    PortfolioOut,
    PortfolioPositionOut,
    TradeIn,
    TradeOut,
)

router = Router(tags=["portfolios"])


class PortfolioFilters(Schema):
    q: str | None = Field(None, description="Property number, customer number or text.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


class PortfolioPage(Schema):
    items: list[PortfolioOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class ValuationQuery(Schema):
    as_of: datetime.date | None = Field(None, description="Valuation date (default today).")


def _portfolio(holding: Holding, valuation: selectors.PortfolioValuation) -> dict[str, Any]:
    return {
        "id": holding.pk,
        "holding_number": holding.holding_number,
        "identifier": holding.identifier,
        "description": holding.description,
        "customer_id": holding.customer_id,
        "customer_number": holding.customer.customer_number,
        "currency": holding.currency,
        "status": holding.status,
        "totals": [vars(total) for total in valuation.totals],
    }


def trade_out(trade: Trade) -> dict[str, Any]:
    data = {name: getattr(trade, name) for name in TradeOut.model_fields if name != "quantity"}
    data["id"] = trade.pk
    data["quantity"] = assets.format_minor(trade.quantity_minor, assets.UNITS_EXPONENT)
    return data


def position_out(row: selectors.PositionValuation) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in PortfolioPositionOut.model_fields}
    return data


@router.get("", response=PortfolioPage, summary="List portfolios")
def portfolio_list(request: HttpRequest, filters: Query[PortfolioFilters]) -> Any:
    """Portfolio holdings in scope with today's totals per currency, newest first
    (keyset-paginated: `limit`, `cursor`, `next_cursor`; one page is valued in a fixed number
    of queries)."""
    require_permission(request.auth, VIEW_PERMISSION)
    rows, next_cursor = keyset_page(
        selectors.portfolio_list(user=request.auth, q=filters.q),
        limit=filters.limit,
        cursor=filters.cursor,
        ordering=("-pk",),
    )
    valuations = selectors.portfolio_valuations(rows)
    return {
        "items": [_portfolio(holding, valuations[holding.pk]) for holding in rows],
        "next_cursor": next_cursor,
    }


@router.get("/{portfolio_id}", response=PortfolioDetailOut, summary="A portfolio and its valuation")
def portfolio_get(request: HttpRequest, portfolio_id: int, query: Query[ValuationQuery]) -> Any:
    """Per instrument: units (ledger), average and book cost, last price on or before `as_of`,
    market value, unrealised gain (and %) and realised gains; totals per currency."""
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.portfolio_get_for_user(user=request.auth, pk=portfolio_id)
    valuation = selectors.portfolio_valuation(user=request.auth, holding=holding, as_of=query.as_of)
    return {
        **_portfolio(holding, valuation),
        "as_of": valuation.as_of,
        "positions": [position_out(row) for row in valuation.positions],
    }


@router.get("/{portfolio_id}/trades", response=list[TradeOut], summary="Trades of a portfolio")
@paginate(CursorPagination, ordering=("-pk",))
def trade_list(request: HttpRequest, portfolio_id: int, instrument: str | None = None) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    holding = selectors.portfolio_get_for_user(user=request.auth, pk=portfolio_id)
    return selectors.trade_list(user=request.auth, holding=holding, instrument=instrument)


@router.post(
    "/{portfolio_id}/trades", response={200: TradeOut, 201: TradeOut}, summary="Book a trade"
)
def trade_book(request: HttpRequest, portfolio_id: int, data: TradeIn) -> Any:
    """Buy or sell: posts the cash leg (and fee) and the units leg all-or-nothing. Selling more
    than held is refused with 409 `ledger.insufficient_funds`. A replay of `idempotency_key`
    answers 200 with the original trade and books nothing."""
    require_permission(request.auth, TRADE_PERMISSION)
    outcome = services.trade_book(actor=request.auth, holding=portfolio_id, data=data)
    return Status(200 if outcome.replayed else 201, trade_out(outcome.trade))
