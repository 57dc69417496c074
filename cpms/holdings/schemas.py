"""Schemas of the property register: the per-kind details (shared by the API, the console and
bulk import through `parse_details`) and the API's input and output shapes."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pydantic
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import BaseModel, ConfigDict

from cpms.core.errors import ValidationFailed
from cpms.core.types import NonNegativeMinorUnits, PositiveMinorUnits
from cpms.holdings.choices import (
    AccountType,
    AssetClass,
    HoldingKind,
    HoldingStatus,
    IntellectualPropertyType,
    LawfulBasis,
    RepaymentMethod,
)

Text40 = pydantic.constr(strip_whitespace=True, min_length=1, max_length=40)
Text60 = pydantic.constr(strip_whitespace=True, min_length=1, max_length=60)
Text80 = pydantic.constr(strip_whitespace=True, min_length=1, max_length=80)
Text120 = pydantic.constr(strip_whitespace=True, min_length=1, max_length=120)
Text200 = pydantic.constr(strip_whitespace=True, min_length=1, max_length=200)
Currency = pydantic.constr(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- kind-specific details ----------------------------------------------------------------


class AccountDetails(_Details):
    account_type: AccountType
    institution: Text200
    # the clear number: IBAN or card / account digits; encrypted at rest, masked on output.
    # Optional on update (None keeps the stored number).
    number: pydantic.constr(strip_whitespace=True, min_length=1, max_length=64) | None = None


class PositionIn(_Details):
    instrument_code: Text40
    instrument_name: pydantic.constr(strip_whitespace=True, max_length=200) = ""
    asset_class: AssetClass
    quantity: Decimal = pydantic.Field(ge=0, max_digits=24, decimal_places=8)
    cost_minor: NonNegativeMinorUnits
    currency: Currency = "CNY"


class PortfolioDetails(_Details):
    positions: list[PositionIn] = []

    @pydantic.model_validator(mode="after")
    def _distinct_codes(self) -> PortfolioDetails:
        codes = [position.instrument_code for position in self.positions]
        if len(codes) != len(set(codes)):
            raise ValueError("each instrument appears once in a portfolio")
        return self


class LoanDetails(_Details):
    principal_minor: PositiveMinorUnits
    currency: Currency = "CNY"
    annual_rate_percent: Decimal = pydantic.Field(ge=0, le=100, max_digits=9, decimal_places=6)
    term_months: int = pydantic.Field(ge=1, le=600)
    method: RepaymentMethod
    start_date: datetime.date


class MembershipDetails(_Details):
    programme: Text120
    member_number: Text60
    tier: pydantic.constr(strip_whitespace=True, max_length=60) = ""
    joined_on: datetime.date | None = None


class IntellectualPropertyDetails(_Details):
    ip_type: IntellectualPropertyType
    registration_number: Text80
    jurisdiction: Text60
    expires_on: datetime.date | None = None


class ContractDetails(_Details):
    contract_number: Text80
    counterparty: Text200
    signed_on: datetime.date | None = None
    expires_on: datetime.date | None = None

    @pydantic.model_validator(mode="after")
    def _order(self) -> ContractDetails:
        if self.signed_on and self.expires_on and self.expires_on < self.signed_on:
            raise ValueError("the contract cannot expire before it is signed")
        return self


class DataAssetDetails(_Details):
    category: Text120
    system: Text120
    record_count: int = pydantic.Field(0, ge=0)
    lawful_basis: LawfulBasis
    retention_until: datetime.date | None = None


DETAIL_SCHEMAS: dict[str, type[_Details]] = {
    HoldingKind.ACCOUNT: AccountDetails,
    HoldingKind.PORTFOLIO: PortfolioDetails,
    HoldingKind.LOAN: LoanDetails,
    HoldingKind.MEMBERSHIP: MembershipDetails,
    HoldingKind.INTELLECTUAL_PROPERTY: IntellectualPropertyDetails,
    HoldingKind.CONTRACT: ContractDetails,
    HoldingKind.DATA_ASSET: DataAssetDetails,
}


def pydantic_fields(exc: pydantic.ValidationError, prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        key = f"{prefix}.{name}" if prefix and name else (prefix or name or "data")
        fields.setdefault(key, error["msg"])
    return fields


def parse_details(kind: str, data: Any) -> _Details:
    """The details of `kind` validated; ValidationFailed with `details.<field>` keys otherwise."""
    schema = DETAIL_SCHEMAS.get(kind)
    if schema is None:
        raise ValidationFailed(fields={"details": _("This kind of property has no details here.")})
    if isinstance(data, schema):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump()
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"details": _("Give the details as an object.")})
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationFailed(
            _("Check the highlighted fields."), fields=pydantic_fields(exc, "details")
        ) from None


# --- API shapes ---------------------------------------------------------------------------


class HoldingIn(Schema):
    customer_id: int
    kind: HoldingKind
    identifier: str = Field(
        "", max_length=120, description="Empty for an account: derived from the number."
    )
    description: str = Field("", max_length=300)
    value_minor: NonNegativeMinorUnits | None = None
    currency: str = Field("CNY", min_length=3, max_length=3)
    valued_on: datetime.date | None = None
    location: str = Field("", max_length=120)
    details: dict[str, Any] | None = Field(
        None, description="Kind-specific details (see docs/holdings.md)."
    )


class HoldingPatch(Schema):
    description: str | None = Field(None, max_length=300)
    location: str | None = Field(None, max_length=120)
    custodian_id: int | None = None
    details: dict[str, Any] | None = None


class HoldingOut(Schema):
    id: int
    holding_number: str
    customer_id: int
    customer_number: str
    customer_name: str
    kind: str
    identifier: str
    description: str
    value_minor: int | None
    currency: str
    valued_on: datetime.date | None
    status: str
    status_changed_at: datetime.datetime | None
    location: str
    custodian_id: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_customer_number(obj: Any) -> str:
        if isinstance(obj, dict):
            return obj["customer_number"]
        return obj.customer.customer_number

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        if isinstance(obj, dict):
            return obj["customer_name"]
        return obj.customer.legal_name


class HoldingDetailOut(HoldingOut):
    details: dict[str, Any] | None = None
    warnings: list[dict[str, str]] = []


class StatusIn(Schema):
    status: HoldingStatus
    reason: str = Field("", max_length=500)


class ValuationIn(Schema):
    value_minor: NonNegativeMinorUnits
    currency: str = Field("CNY", min_length=3, max_length=3)
    valued_on: datetime.date
    source: str = Field("", max_length=80)


class ValuationOut(Schema):
    id: int
    value_minor: int
    currency: str
    valued_on: datetime.date
    source: str
    recorded_by_id: int | None
    recorded_at: datetime.datetime


class PositionPatch(Schema):
    instrument_name: str | None = Field(None, max_length=200)
    asset_class: AssetClass | None = None
    quantity: Decimal | None = Field(None, ge=0)
    cost_minor: NonNegativeMinorUnits | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)


class PositionOut(Schema):
    id: int
    instrument_code: str
    instrument_name: str
    asset_class: str
    quantity: Decimal
    cost_minor: int
    currency: str
    price: Decimal | None
    priced_on: datetime.date | None
    market_value_minor: int | None
    unrealised_gain_minor: int | None


class InstalmentOut(Schema):
    number: int
    due_on: datetime.date
    principal_minor: int
    interest_minor: int
    payment_minor: int
    balance_after_minor: int


class PriceImportOut(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int
