"""Input and output shapes of the custody lifecycle (API)."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema

from cpms.core.types import NonNegativeMinorUnits
from cpms.custody.choices import (
    ConditionGrade,
    CountResult,
    CustodyCategory,
    CustodyState,
    IncidentKind,
    IncidentStatus,
    PhotoStage,
)


class ItemReceiveIn(Schema):
    customer_id: int
    category: CustodyCategory
    description: str = Field(..., min_length=1, max_length=300)
    condition_grade: ConditionGrade
    condition_notes: str = Field("", max_length=2000)
    location: str = Field(..., min_length=1, max_length=120)
    serial: str = Field("", max_length=120)
    custodian_id: int | None = Field(None, description="Default: the acting user.")
    value_minor: NonNegativeMinorUnits | None = Field(None, description="Value in minor units.")
    currency: str = Field("CNY", min_length=3, max_length=3)
    valued_on: datetime.date | None = None


class PutAwayIn(Schema):
    location: str = Field("", max_length=120)


class CheckOutIn(Schema):
    to_whom: str = Field(..., min_length=1, max_length=200)
    purpose: str = Field(..., min_length=1, max_length=300)
    due_on: datetime.date


class CheckInIn(Schema):
    condition_grade: ConditionGrade
    condition_notes: str = Field("", max_length=2000)
    location: str = Field("", max_length=120)


class ReturnIn(Schema):
    collected_by: str = Field(..., min_length=1, max_length=200)
    id_checked: bool
    note: str = Field("", max_length=2000)
    condition_grade: ConditionGrade | None = None


class DisposeIn(Schema):
    consent_reference: str = Field(..., min_length=1, max_length=120)
    method: str = Field(..., min_length=1, max_length=200)
    reason: str = Field(..., min_length=1, max_length=2000)


class MoveIn(Schema):
    location: str = Field(..., min_length=1, max_length=120)
    custodian_id: int | None = None


class FoundIn(Schema):
    location: str = Field(..., min_length=1, max_length=120)
    note: str = Field("", max_length=2000)


class ItemOut(Schema):
    id: int
    holding_id: int
    holding_number: str
    customer_id: int
    customer_name: str
    description: str
    category: CustodyCategory
    serial: str
    condition_grade: ConditionGrade
    condition_notes: str
    state: CustodyState
    state_changed_at: datetime.datetime
    location: str
    custodian_id: int | None
    received_at: datetime.datetime
    checked_out_to: str
    checkout_purpose: str
    due_back_on: datetime.date | None
    overdue: bool
    overdue_flagged_at: datetime.datetime | None

    # fields of the holding (the item is a custody-item holding plus these details)
    @staticmethod
    def resolve_holding_number(obj: Any) -> str:
        return obj.holding.holding_number

    @staticmethod
    def resolve_customer_id(obj: Any) -> int:
        return obj.holding.customer_id

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.holding.customer.legal_name

    @staticmethod
    def resolve_description(obj: Any) -> str:
        return obj.holding.description

    @staticmethod
    def resolve_location(obj: Any) -> str:
        return obj.holding.location

    @staticmethod
    def resolve_custodian_id(obj: Any) -> int | None:
        return obj.holding.custodian_id

    @staticmethod
    def resolve_overdue(obj: Any) -> bool:
        return obj.is_overdue()


class DisposalRequestOut(Schema):
    approval_request_id: int | None
    status: str
    item: ItemOut


class EventOut(Schema):
    id: int
    kind: str
    from_state: str
    to_state: str
    at: datetime.datetime
    actor_id: int | None
    details: dict


class PhotoOut(Schema):
    id: int
    stage: PhotoStage
    sha256: str
    size: int
    content_type: str
    width: int
    height: int
    original_name: str
    note: str
    uploaded_at: datetime.datetime


class IncidentOpenIn(Schema):
    item_id: int
    kind: IncidentKind
    description: str = Field(..., min_length=1, max_length=2000)


class IncidentResponseIn(Schema):
    response: str = Field(..., min_length=1, max_length=2000)


class IncidentCloseIn(Schema):
    resolution: str = Field(..., min_length=1, max_length=2000)


class IncidentOut(Schema):
    id: int
    item_id: int
    kind: IncidentKind
    description: str
    status: IncidentStatus
    opened_at: datetime.datetime
    notify_due_at: datetime.datetime
    notified_at: datetime.datetime | None
    notify_late_at: datetime.datetime | None
    notification_id: int | None
    customer_response: str
    response_recorded_at: datetime.datetime | None
    resolution: str
    closed_at: datetime.datetime | None


class StocktakeIn(Schema):
    location: str = Field(..., min_length=1, max_length=120)
    note: str = Field("", max_length=300)


class CountIn(Schema):
    item_id: int
    result: CountResult
    note: str = Field("", max_length=300)


class StocktakeLineOut(Schema):
    id: int
    item_id: int
    holding_number: str
    description: str
    result: CountResult
    counted_at: datetime.datetime | None
    note: str

    @staticmethod
    def resolve_holding_number(obj: Any) -> str:
        return obj.item.holding.holding_number

    @staticmethod
    def resolve_description(obj: Any) -> str:
        return obj.item.holding.description


class StocktakeOut(Schema):
    id: int
    location: str
    status: str
    started_at: datetime.datetime
    closed_at: datetime.datetime | None
    note: str


class StocktakeDetailOut(StocktakeOut):
    lines: list[StocktakeLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(
            obj.lines.select_related("item__holding").order_by(
                "item__holding__holding_number", "pk"
            )
        )


class OverdueRunOut(Schema):
    flagged: list[int]


class NotifyRunOut(Schema):
    notified: list[int]
    late: list[int]
