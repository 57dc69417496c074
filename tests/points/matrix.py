"""Loyalty points in the permission matrix (format: tests/permission_rules.py). Reading needs
`retail.view` (token area `retail`); redeeming `points.redeem`; adjustment requests and earn
rules `points.adjust`."""

from __future__ import annotations

import datetime

from django.utils import timezone

from tests.permission_rules import Rule

VIEW = ("retail.view",)
REDEEM = ("points.redeem",)
ADJUST = ("points.adjust",)

CONSOLE = {
    "points:list": Rule(VIEW),
    "points:customer": Rule(VIEW, scoped=True),
    "points:redeem": Rule(REDEEM, "POST", scoped=True),
    "points:adjust": Rule(ADJUST, "POST", scoped=True),
    "points:rules": Rule(VIEW),
    "points:rule_edit": Rule(ADJUST),
}

API = {
    ("GET", "/api/v1/points/customers/{customer_id}"): Rule(VIEW, scoped=True),
    ("POST", "/api/v1/points/customers/{customer_id}/redeem"): Rule(REDEEM, "POST", scoped=True),
    ("POST", "/api/v1/points/customers/{customer_id}/adjustments"): Rule(
        ADJUST, "POST", scoped=True
    ),
    ("GET", "/api/v1/points/rules"): Rule(VIEW),
    ("PUT", "/api/v1/points/rules"): Rule(ADJUST, "PUT"),
}

WRITE_BODIES = {
    "/api/v1/points/customers/{customer_id}/redeem": {"points": 1, "reference": "matrix"},
    "/api/v1/points/customers/{customer_id}/adjustments": {"points": 5, "reason": "matrix"},
    "/api/v1/points/rules": {
        "currency": "CNY",
        "name": "matrix",
        "tiers": [{"code": "standard", "threshold_minor": 0, "multiplier": "3"}],
    },
}


def build(world: dict) -> None:
    from cpms.retail.services import purchase_record
    from cpms.users.choices import Role

    world["points_purchase"] = purchase_record(
        actor=world["users"][Role.RELATIONSHIP_MANAGER],
        data={
            "customer_id": world["customer"].pk,
            "reference": "MATRIX-PTS-1",
            "purchased_at": timezone.now() - datetime.timedelta(days=2),
            "channel": "online",
            "total_minor": 10000,
            "lines": [
                {"category": "x", "description": "y", "quantity": 1, "unit_amount_minor": 10000}
            ],
        },
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in ("points:customer", "points:redeem", "points:adjust"):
        return {"customer_id": world["customer"].pk}
    if name == "points:rule_edit":
        return {"currency": "CNY"}
    return None


def state(world: dict) -> tuple:
    from cpms.ledger.models import Transfer
    from cpms.points.models import PointsLot, PointsLotUse, PointsRule

    rule = PointsRule.objects.get(currency="CNY")
    return (
        Transfer.objects.count(),
        PointsLot.objects.count(),
        PointsLotUse.objects.count(),
        rule.name,
        rule.tiers,
    )
