"""API of loyalty points, mounted at /api/v1/points/ (token scope area `retail`). Customers
appear by id and customer number only (no personal data)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from cpms.access.checks import require_permission
from cpms.core.types import MinorUnits, NonNegativeMinorUnits, PositiveMinorUnits
from cpms.points import selectors, services
from cpms.points.choices import ADJUST_PERMISSION, REDEEM_PERMISSION, VIEW_PERMISSION

router = Router(tags=["points"])


class LotOut(Schema):
    id: int
    source: str
    purchase_id: int | None
    earned_on: datetime.date
    expires_on: datetime.date
    points: int
    remaining: int
    expired: bool


class TierOut(Schema):
    code: str
    name: str
    multiplier: str
    spend_12m_minor: int
    currency: str
    next_code: str | None
    next_threshold_minor: int | None


class CustomerPointsOut(Schema):
    customer_id: int
    customer_number: str
    balance: int = Field(description="Posted points balance.")
    available: int = Field(description="Points in lots not yet expired (redeemable now).")
    tier: TierOut | None
    lots: list[LotOut]


class RedeemIn(Schema):
    points: PositiveMinorUnits
    reference: str = Field("", max_length=120)
    idempotency_key: str | None = Field(
        None, max_length=40, description="Retry-safe key; a retry returns the first redemption."
    )


class RedeemOut(Schema):
    transfer_id: int
    points: int
    replayed: bool
    lots: list[list[int]] = Field(description="[lot id, points taken] in consumption order.")
    balance: int


class AdjustIn(Schema):
    points: MinorUnits = Field(description="+ adds a lot, - takes points (FIFO).")
    reason: str = Field(max_length=500)


class AdjustOut(Schema):
    approval_request_id: int | None
    executed: bool


class TierIn(Schema):
    code: str
    name: str = ""
    threshold_minor: NonNegativeMinorUnits
    multiplier: str


class RuleIn(Schema):
    currency: str = Field("CNY", min_length=3, max_length=3)
    name: str
    points_per_unit: int = 1
    unit_minor: PositiveMinorUnits = 100
    category_multipliers: dict[str, str] = {}
    tiers: list[TierIn]
    expiry_months: int = 12
    active: bool = True


class RuleOut(Schema):
    id: int
    currency: str
    name: str
    points_per_unit: int
    unit_minor: int
    category_multipliers: dict[str, str]
    tiers: list[dict[str, Any]]
    expiry_months: int
    active: bool
    updated_at: datetime.datetime


def _customer_out(user: Any, customer_id: int) -> dict[str, Any]:
    data = selectors.overview(user=user, customer_id=customer_id)
    tier = data["tier"]
    return {
        "customer_id": data["customer"].pk,
        "customer_number": data["customer"].customer_number,
        "balance": data["balance"],
        "available": data["available"],
        "tier": None
        if tier is None
        else {
            "code": tier.code,
            "name": tier.name,
            "multiplier": tier.multiplier,
            "spend_12m_minor": tier.spend_minor,
            "currency": tier.currency,
            "next_code": tier.next_code,
            "next_threshold_minor": tier.next_threshold_minor,
        },
        "lots": [
            {
                "id": row.lot.pk,
                "source": row.lot.source,
                "purchase_id": row.lot.purchase_id,
                "earned_on": row.lot.earned_on,
                "expires_on": row.lot.expires_on,
                "points": row.lot.points,
                "remaining": row.remaining,
                "expired": row.expired,
            }
            for row in data["lots"]
        ],
    }


@router.get("/customers/{customer_id}", response=CustomerPointsOut, summary="A customer's points")
def customer_points(request: HttpRequest, customer_id: int) -> Any:
    """Balance, tier (from rolling 12-month net spend) and every lot with its remainder."""
    require_permission(request.auth, VIEW_PERMISSION)
    return _customer_out(request.auth, customer_id)


@router.post("/customers/{customer_id}/redeem", response={201: RedeemOut}, summary="Redeem points")
def redeem(request: HttpRequest, customer_id: int, data: RedeemIn) -> Any:
    """Consumes lots earliest-expiring first; more than available is refused with 422
    `points.insufficient`."""
    require_permission(request.auth, REDEEM_PERMISSION)
    customer = selectors.customer_get(
        user=request.auth, customer_id=customer_id, permission=REDEEM_PERMISSION
    )
    outcome = services.points_redeem(
        actor=request.auth,
        customer=customer,
        points=data.points,
        reference=data.reference,
        idempotency_key=data.idempotency_key,
    )
    return Status(
        201,
        {
            "transfer_id": outcome.transfer.pk,
            "points": outcome.points,
            "replayed": outcome.replayed,
            "lots": [list(use) for use in outcome.uses],
            "balance": selectors.balance(customer),
        },
    )


@router.post(
    "/customers/{customer_id}/adjustments",
    response={202: AdjustOut, 201: AdjustOut},
    summary="Request a points adjustment",
)
def adjust(request: HttpRequest, customer_id: int, data: AdjustIn) -> Any:
    """Opens a maker-checker request `points.adjust` (202); the points post on approval."""
    require_permission(request.auth, ADJUST_PERMISSION)
    customer = selectors.customer_get(
        user=request.auth, customer_id=customer_id, permission=ADJUST_PERMISSION
    )
    outcome = services.points_adjust_request(
        actor=request.auth, customer=customer, points=data.points, reason=data.reason
    )
    return Status(
        201 if outcome.executed else 202,
        {"approval_request_id": outcome.approval_request_id, "executed": outcome.executed},
    )


def _rule_out(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "currency": rule.currency,
        "name": rule.name,
        "points_per_unit": rule.points_per_unit,
        "unit_minor": rule.unit_minor,
        "category_multipliers": dict(rule.category_multipliers or {}),
        "tiers": list(rule.tiers or []),
        "expiry_months": rule.expiry_months,
        "active": rule.active,
        "updated_at": rule.updated_at,
    }


@router.get("/rules", response=list[RuleOut], summary="Earn rules")
def rule_list(request: HttpRequest) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return [_rule_out(rule) for rule in selectors.rule_list(user=request.auth)]


@router.put("/rules", response=RuleOut, summary="Create or change the earn rule of a currency")
def rule_save(request: HttpRequest, data: RuleIn) -> Any:
    """Applies to purchases recorded afterwards (`points.adjust`; audited)."""
    require_permission(request.auth, ADJUST_PERMISSION)
    values = data.model_dump()
    rule = services.points_rule_save(
        actor=request.auth, currency=values.pop("currency"), data=values
    )
    return _rule_out(rule)
