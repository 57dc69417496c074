"""API input and output of loan servicing. Amounts are integer minor units of the loan's
currency."""

from __future__ import annotations

import datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from cpms.core.types import PositiveMinorUnits
from cpms.loans.choices import PaidFrom


class DisburseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    value_date: datetime.date | None = Field(None, description="Default: today")
    to: PaidFrom = Field(PaidFrom.CUSTOMER_CASH, description="customer_cash or client_bank")


class RepayIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount_minor: PositiveMinorUnits
    value_date: datetime.date | None = Field(None, description="Default: today")
    source: PaidFrom = Field(PaidFrom.CUSTOMER_CASH, description="customer_cash or client_bank")
    prepay: bool = Field(True, description="Allow paying principal not yet due")
    idempotency_key: str = Field("", max_length=60, description="A replay answers the original")


class EarlyRepayIn(Schema):
    model_config = ConfigDict(extra="forbid")

    value_date: datetime.date | None = Field(None, description="Default: today")
    source: PaidFrom = Field(PaidFrom.CUSTOMER_CASH)
    fee_bps: int | None = Field(None, ge=0, le=10_000, description="Default: the configured fee")
    idempotency_key: str = Field("", max_length=60)


class LoanInstalmentOut(Schema):
    number: int
    due_on: datetime.date
    scheduled_principal_minor: int
    scheduled_interest_minor: int
    accrued_interest_minor: int
    paid_principal_minor: int
    paid_interest_minor: int
    outstanding_principal_minor: int
    outstanding_interest_minor: int
    outstanding_minor: int
    days_past_due: int


class LoanOut(Schema):
    id: int = Field(..., description="The loan's property item (holding) id")
    holding_number: str
    customer_id: int
    customer_number: str
    currency: str
    principal_minor: int
    annual_rate_percent: str
    term_months: int
    method: str
    start_date: datetime.date
    disbursed: bool
    disbursed_on: datetime.date | None = None
    state: str
    outstanding_principal_minor: int
    accrued_unpaid_interest_minor: int
    days_past_due: int
    bucket: str
    next_due_on: datetime.date | None = None
    next_due_minor: int | None = None


class LoanPageOut(Schema):
    items: list[LoanOut]
    next_cursor: str | None = None


class RepaymentOut(Schema):
    sequence: int
    value_date: datetime.date
    source: str
    early: bool
    amount_minor: int
    interest_minor: int
    principal_minor: int
    fee_minor: int
    transfer_ids: list[int]


class LoanDetailOut(LoanOut):
    as_of: datetime.date
    instalments: list[LoanInstalmentOut]
    repayments: list[RepaymentOut]


class LoanActionOut(Schema):
    replayed: bool
    transfer_ids: list[int]
    repayment: RepaymentOut | None = None
    loan: LoanDetailOut
