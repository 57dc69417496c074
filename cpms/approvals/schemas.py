from datetime import datetime
from typing import Any

from ninja import Field, Schema

from cpms.approvals import selectors
from cpms.approvals.choices import ApprovalStatus, DecisionKind
from cpms.core.types import NonNegativeMinorUnits


class UserRef(Schema):
    id: int
    username: str
    display_name: str


class DecisionOut(Schema):
    approver: UserRef
    decision: DecisionKind
    reason: str
    decided_at: datetime


class ApprovalRequestOut(Schema):
    id: int
    action: str
    action_label: str
    status: ApprovalStatus
    maker: UserRef
    summary: str
    payload: dict[str, Any]
    object_type: str
    object_id: str
    amount_minor: int | None
    currency: str
    reason: str
    approvers_required: int
    approvals: int
    approver_permission: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    result: dict[str, Any] | None
    decisions: list[DecisionOut]

    @staticmethod
    def resolve_action_label(obj: Any) -> str:
        return selectors.action_label(obj.action)

    @staticmethod
    def resolve_summary(obj: Any) -> str:
        return selectors.approval_summary(obj)

    @staticmethod
    def resolve_approvals(obj: Any) -> int:
        return selectors.approval_count(obj)

    @staticmethod
    def resolve_decisions(obj: Any) -> list[Any]:
        return list(obj.decisions.all())


class DecisionIn(Schema):
    reason: str = Field("", max_length=2000, description="Why; required to reject.")


class PolicyOut(Schema):
    action: str
    label: str
    enabled: bool
    approvers_required: int
    threshold_minor: int | None
    currency: str
    expiry_hours: int
    approver_permission: str
    updated_at: datetime

    @staticmethod
    def resolve_label(obj: Any) -> str:
        return selectors.action_label(obj.action)


class PolicyPatch(Schema):
    enabled: bool | None = None
    approvers_required: int | None = Field(None, ge=1)
    threshold_minor: NonNegativeMinorUnits | None = None
    clear_threshold: bool = Field(False, description="Remove the threshold and currency.")
    currency: str | None = Field(None, max_length=3)
    expiry_hours: int | None = Field(None, ge=1)
    approver_permission: str | None = None
    reason: str = Field("", max_length=2000)

    def changes(self) -> dict[str, Any]:
        fields = ("enabled", "approvers_required", "threshold_minor", "currency", "expiry_hours")
        values = {name: getattr(self, name) for name in fields if getattr(self, name) is not None}
        if self.approver_permission is not None:
            values["approver_permission"] = self.approver_permission
        if self.clear_threshold:
            values.update(threshold_minor=None, currency="")
        return values
