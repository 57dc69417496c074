"""Ninja schemas of the reconciliation API (amounts in integer minor units; statement amounts
are signed: + money in, - money out)."""

import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class BankAccountOut(Schema):
    id: int
    code: str
    name: str
    asset: str
    bank_account_identifier: str
    balance_minor: int


class ImportJson(Schema):
    content_base64: str = Field(..., description="The statement file, base64-encoded.")
    filename: str = ""
    format: str | None = Field(None, description="mt940, camt053 or csv; detected when empty.")
    profile: str | None = Field(None, description="CSV profile name.")
    account: str | None = Field(None, description="Ledger account code or id of the bank account.")


class StatementOut(Schema):
    id: int
    account_id: int
    account_code: str
    format: str
    profile: str
    statement_id: str
    account_identifier: str
    currency: str
    filename: str
    file_sha256: str
    opening_minor: int | None
    opening_date: datetime.date | None
    closing_minor: int | None
    closing_date: datetime.date | None
    entries_total_minor: int
    consistent: bool
    balance_check: str = Field(
        ...,
        description="adds_up, does_not_add_up, or not_checkable (the file gives no balance).",
    )
    problems: list[str]
    imported_at: datetime.datetime

    @staticmethod
    def resolve_account_code(obj: Any) -> str:
        if isinstance(obj, dict):
            return obj["account_code"]
        return obj.account.code


class LineOut(Schema):
    id: int
    index: int
    booking_date: datetime.date
    value_date: datetime.date | None
    amount_minor: int
    currency: str
    reference: str
    description: str
    counterparty: str
    counterparty_account: str
    bank_code: str
    running_balance_minor: int | None
    match_id: int | None
    transfer_id: int | None
    match_how: str | None


class StatementDetailOut(StatementOut):
    lines: list[LineOut]


class RefusedStatementOut(Schema):
    position: int = Field(..., description="0-based position of the statement in the file.")
    statement_id: str
    account_identifier: str
    currency: str
    reason: str


class ImportOut(Schema):
    statements: list[StatementOut]
    consistent: bool = Field(..., description="False when an imported statement does not add up.")
    matches: int
    breaks: int
    refused: list[RefusedStatementOut] = Field(
        ..., description="Statements of the file not imported (the others were), and why."
    )


class MatchIn(Schema):
    line_id: int
    transfer_id: int


class UnmatchIn(Schema):
    reason: str


class MatchOut(Schema):
    id: int
    line_id: int
    transfer_id: int
    how: str
    matched_at: datetime.datetime
    undone_at: datetime.datetime | None
    undo_reason: str


class BreakOut(Schema):
    id: int
    account_id: int
    kind: str
    statement_id: int | None
    line_id: int | None
    transfer_id: int | None
    amount_minor: int
    description: str
    opened_at: datetime.datetime
    age_days: int
    owner_id: int | None
    status: str
    resolution: str


class AssignIn(Schema):
    owner_id: int


class ResolveIn(Schema):
    note: str


class ProfileIn(Schema):
    """A CsvProfile as a dict (fields in docs/statement_formats.md); validated by the service."""

    model_config = ConfigDict(extra="allow")
    name: str


class ProfileOut(Schema):
    name: str
    label: str
    builtin: bool
    definition: dict[str, Any]


class ReportOut(Schema):
    date: datetime.date
    accounts: list[dict[str, Any]]
