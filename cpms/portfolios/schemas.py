"""Input and output shapes of portfolio trading. `TradeIn` is the one input of a trade, shared
by the API, the console form and the service (a plain mapping is accepted too)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from cpms.core.types import NonNegativeMinorUnits
from cpms.portfolios.choices import TradeSide

QUANTITY_DECIMALS = 4
PRICE_DECIMALS = 8


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class TradeIn(Schema):
    side: TradeSide
    instrument_code: str = Field(..., min_length=1, max_length=20, description="E.g. 600519.")
    quantity: Decimal = Field(..., gt=0, description="Units, up to 4 decimals.")
    price: Decimal = Field(..., gt=0, description="Price per unit in `currency`, up to 8 decimals.")
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="ISO 4217; default the portfolio's."
    )
    fee_minor: NonNegativeMinorUnits = Field(0, description="Fee in minor units of `currency`.")
    trade_date: datetime.date
    settlement_date: datetime.date | None = Field(None, description="Default the trade date.")
    reference: str = Field("", max_length=120)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=60, description="A retry with the same key books nothing."
    )

    @field_validator("instrument_code", "currency", "reference", "idempotency_key", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("instrument_code", "currency")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("quantity")
    @classmethod
    def _quantity_places(cls, value: Decimal) -> Decimal:
        if _places(value) > QUANTITY_DECIMALS:
            raise ValueError(f"at most {QUANTITY_DECIMALS} decimals")
        if value >= Decimal("1e14"):
            raise ValueError("too large")
        return value

    @field_validator("price")
    @classmethod
    def _price_places(cls, value: Decimal) -> Decimal:
        if _places(value) > PRICE_DECIMALS:
            raise ValueError(f"at most {PRICE_DECIMALS} decimals")
        if value >= Decimal("1e15"):
            raise ValueError("too large")
        return value


class TradeOut(Schema):
    id: int
    holding_id: int
    side: str
    instrument_code: str
    currency: str
    quantity: str = Field(..., description="Units (exact decimal text).")
    quantity_minor: int
    price: Decimal
    gross_minor: int
    fee_minor: int
    cash_minor: int
    trade_date: datetime.date
    settlement_date: datetime.date
    reference: str
    idempotency_key: str
    units_after_minor: int
    cost_after_minor: int
    average_cost_after: Decimal | None
    cost_released_minor: int
    realised_minor: int
    cash_transfer_id: int | None
    fee_transfer_id: int | None
    units_transfer_id: int | None
    booked_at: datetime.datetime


class PortfolioPositionOut(Schema):
    instrument_code: str
    currency: str
    units: str
    units_minor: int
    average_cost: Decimal | None
    book_cost_minor: int
    last_price: Decimal | None
    priced_on: datetime.date | None
    market_value_minor: int | None
    unrealised_minor: int | None
    unrealised_percent: Decimal | None
    realised_minor: int


class CurrencyTotalOut(Schema):
    currency: str
    book_cost_minor: int
    market_value_minor: int | None = Field(
        ..., description="None when a position in this currency has no price on or before as_of."
    )
    unrealised_minor: int | None
    realised_minor: int
    missing_prices: list[str]


class PortfolioDetailOut(Schema):
    id: int
    holding_number: str
    identifier: str
    description: str
    customer_id: int
    customer_number: str
    currency: str
    status: str
    totals: list[CurrencyTotalOut]
    as_of: datetime.date
    positions: list[PortfolioPositionOut]


class PortfolioOut(Schema):
    """A portfolio in a list, with today's totals per currency."""

    id: int
    holding_number: str
    identifier: str
    description: str
    customer_id: int
    customer_number: str
    currency: str
    status: str
    totals: list[CurrencyTotalOut]
