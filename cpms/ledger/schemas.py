"""Validated input shared by the API, the CLI (posting from a file) and the console."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import ConfigDict, Field, GetJsonSchemaHandler, PlainValidator, RootModel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from cpms.core.errors import ValidationFailed
from cpms.core.types import PositiveMinorUnits


class TransferIn(Schema):
    """One transfer. Accounts by id or code; amounts in integer minor units of the asset."""

    model_config = ConfigDict(extra="forbid")

    debit_account: str = Field(..., min_length=1, max_length=64, description="Account id or code")
    credit_account: str = Field(..., min_length=1, max_length=64, description="Account id or code")
    amount_minor: PositiveMinorUnits = Field(
        ..., description="Integer minor units, e.g. fen for CNY (a JSON integer, not a string)"
    )
    asset: str | None = Field(None, max_length=24, description="Must match both accounts")
    reference: str = Field("", max_length=140)
    value_date: datetime.date | None = Field(None, description="Default: today")
    metadata: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=80, description="A replay returns the original transfer"
    )
    pending: bool = Field(False, description="Reserve the funds as a hold instead of posting")
    expires_at: datetime.datetime | None = Field(None, description="When an unposted hold lapses")


class TransferBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    transfers: list[TransferIn] = Field(..., min_length=1, max_length=8190)
    reason: str = Field("", max_length=2000, description="Shown to approvers of held transfers")


def _as_sent(value: Any) -> Any:
    return value


class TransferPostIn(RootModel[Any]):
    """The body of `POST /ledger/transfers`: one `TransferIn`, or a linked batch
    `TransferBatchIn` (`{"transfers": [...], "reason": "..."}`).

    The API document describes it as exactly one of the two. Ninja hands the JSON value over
    as it came: the ledger service checks the caller's permission first and then reads the
    body (`parts`, then each transfer), so that every refusal keeps the ledger's codes and
    field names (`ledger.invalid_transfer`, `transfers[1].amount_minor`)."""

    root: Annotated[
        Any, PlainValidator(_as_sent, json_schema_input_type=TransferIn | TransferBatchIn)
    ] = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # the default only lets an empty body reach the service (which refuses it)
        schema = {key: value for key, value in handler(core_schema).items() if key != "default"}
        schema["oneOf"] = schema.pop("anyOf")
        schema["description"] = (
            "One transfer, or a linked batch of up to 8,190 transfers posted all-or-nothing."
        )
        return schema

    def parts(self) -> tuple[list[Any], Any, bool]:
        """(the transfers as sent, the reason as sent, whether it is a batch); a body that is
        neither shape is refused naming the offending field."""
        body = self.root
        if isinstance(body, Mapping) and "transfers" in body:
            extra = sorted(set(body) - set(TransferBatchIn.model_fields))
            if extra:
                raise ValidationFailed(fields={extra[0]: _("Unknown field in a batch.")})
            items = body["transfers"]
            if not isinstance(items, list):
                raise ValidationFailed(fields={"transfers": _("Give a list of transfers.")})
            return items, body.get("reason") or "", True
        if isinstance(body, Mapping):
            return [body], "", False
        raise ValidationFailed(
            fields={"request": _('Send one transfer object or {"transfers": [...]}.')}
        )


class AccountOpenIn(Schema):
    model_config = ConfigDict(extra="forbid")

    purpose: str
    asset: str = Field(..., min_length=2, max_length=24)
    customer_id: int | None = None
    holding_id: int | None = None
    name: str = Field("", max_length=200)
    bank_account_identifier: str = Field("", max_length=64)
    code: str = Field("", max_length=64, description="Own code of an internal account")


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=2000)


class ReverseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=2000)
    idempotency_key: str | None = Field(None, min_length=1, max_length=80)


class PeriodCloseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    through: datetime.date
    reason: str = Field("", max_length=500)


class BalanceOut(Schema):
    posted_minor: int
    pending_debits_minor: int
    pending_credits_minor: int
    available_minor: int
    debits_posted_minor: int
    credits_posted_minor: int


class AccountOut(Schema):
    id: int
    code: str
    name: str
    asset: str
    exponent: int
    kind: str
    purpose: str
    normal_side: str
    no_negative: bool
    status: str
    customer_id: int | None
    holding_id: int | None
    balance: BalanceOut | None = None


class TransferOut(Schema):
    id: int
    idempotency_key: str
    kind: str
    state: str | None = None
    debit_account: str
    credit_account: str
    asset: str
    amount_minor: int
    reference: str
    value_date: datetime.date
    metadata: dict[str, Any]
    pending_id: int | None
    reverses_id: int | None
    batch: str | None
    expires_at: datetime.datetime | None
    approval_request_id: int | None
    created_at: datetime.datetime


class TransferResultOut(Schema):
    replayed: bool
    transfers: list[TransferOut]


class StatementLineOut(Schema):
    transfer_id: int
    value_date: datetime.date
    reference: str
    counterparty: str
    debit_minor: int
    credit_minor: int
    balance_minor: int


class LedgerStatementOut(Schema):
    account: AccountOut
    start: datetime.date
    end: datetime.date
    opening_minor: int
    closing_minor: int
    total_debits_minor: int
    total_credits_minor: int
    lines: list[StatementLineOut]


class CheckOut(Schema):
    ok: bool
    problems: list[str]
    accounts: int
    transfers: int
