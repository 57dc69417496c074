"""Input and output shapes of retail records. `PurchaseData` is the one input of a purchase,
shared by the API, the console form and bulk import (a plain mapping with `lines` as a list of
mappings is accepted too); `ReturnData` is the input of a return or an exchange."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from cpms.core.types import NonNegativeMinorUnits
from cpms.retail.choices import Channel, ReturnKind, ReturnReason

MAX_LINES = 200


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class PurchaseLineData(Schema):
    category: str = Field(..., min_length=1, max_length=60)
    sku: str = Field("", max_length=60)
    description: str = Field("", max_length=200)
    quantity: int = Field(..., ge=1, le=1_000_000)
    unit_amount_minor: NonNegativeMinorUnits = Field(
        ..., description="Unit price in minor units (fen)."
    )
    amount_minor: NonNegativeMinorUnits | None = Field(
        None,
        description="Line amount in minor units; default quantity × unit price. "
        "Lower after a line discount, never higher.",
    )

    @field_validator("category", "sku", "description", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _strip(value)


class PurchaseData(Schema):
    """A purchase as entered. The customer is given by id or by customer number."""

    customer_id: int | None = None
    customer_number: str | None = Field(None, max_length=40)
    reference: str = Field(..., min_length=1, max_length=60, description="Receipt number.")
    purchased_at: datetime.datetime = Field(
        ..., description="Date and time; without a time zone it is read in local time."
    )
    channel: Channel
    store_code: str = Field("", max_length=20, description="Required for the store channel.")
    currency: str = Field("CNY", min_length=3, max_length=3, description="ISO 4217 code.")
    total_minor: NonNegativeMinorUnits = Field(
        ..., description="Total in minor units; the sum of the lines."
    )
    note: str = Field("", max_length=500)
    lines: list[PurchaseLineData] = Field(..., min_length=1, max_length=MAX_LINES)

    @field_validator("reference", "store_code", "note", "customer_number", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _strip(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class ReturnLineData(Schema):
    line_number: int = Field(..., ge=1)
    quantity: int = Field(..., ge=1)


class ReturnData(Schema):
    """A return (refund) or an exchange of some units of one purchase."""

    kind: ReturnKind = ReturnKind.RETURN
    reason: ReturnReason
    note: str = Field("", max_length=500, description="Required when the reason is other.")
    returned_at: datetime.datetime | None = Field(None, description="Default: now.")
    refund_minor: NonNegativeMinorUnits = Field(
        0, description="Refund in minor units of the purchase."
    )
    replacement_reference: str = Field(
        "", max_length=60, description="Exchange only: receipt number of the replacement."
    )
    lines: list[ReturnLineData] = Field(..., min_length=1, max_length=MAX_LINES)

    @field_validator("note", "replacement_reference", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _strip(value)


class PurchaseLineOut(Schema):
    line_number: int
    category: str
    sku: str
    description: str
    quantity: int
    unit_amount_minor: int
    amount_minor: int
    returned_quantity: int = 0


class PurchaseOut(Schema):
    id: int
    reference: str
    customer_id: int
    customer_number: str
    purchased_at: datetime.datetime
    channel: str
    store_code: str
    currency: str
    total_minor: int
    note: str
    recorded_by_id: int | None
    recorded_at: datetime.datetime

    @staticmethod
    def resolve_customer_number(obj: Any) -> str:
        if isinstance(obj, dict):
            return obj["customer_number"]
        return obj.customer.customer_number


class ReturnLineOut(Schema):
    line_number: int
    quantity: int
    value_minor: int

    @staticmethod
    def resolve_line_number(obj: Any) -> int:
        return obj.line.line_number


class ReturnOut(Schema):
    id: int
    purchase_id: int
    kind: str
    reason: str
    note: str
    returned_at: datetime.datetime
    refund_minor: int
    replacement_reference: str
    recorded_by_id: int | None
    recorded_at: datetime.datetime
    lines: list[ReturnLineOut]

    @staticmethod
    def resolve_replacement_reference(obj: Any) -> str:
        if isinstance(obj, dict):
            return obj["replacement_reference"]
        return obj.replacement.reference if obj.replacement_id else ""

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        if isinstance(obj, dict):
            return obj["lines"]
        return list(obj.lines.all())


class PurchaseDetailOut(PurchaseOut):
    refunded_minor: int
    lines: list[PurchaseLineOut]
    returns: list[ReturnOut]
