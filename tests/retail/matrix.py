"""Retail records in the permission matrix (format: tests/permission_rules.py)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from tests.permission_rules import Probe, Rule

VIEW = ("retail.view",)
MANAGE = ("retail.manage",)

CONSOLE = {
    "retail:list": Rule(VIEW),
    "retail:create": Rule(MANAGE),
    "retail:detail": Rule(VIEW, scoped=True),
    "retail:return": Rule(MANAGE, scoped=True),
}

API = {
    ("GET", "/api/v1/purchases/"): Rule(VIEW),
    ("POST", "/api/v1/purchases/"): Rule(MANAGE, "POST"),
    ("GET", "/api/v1/purchases/{purchase_id}"): Rule(VIEW, scoped=True),
    ("GET", "/api/v1/purchases/{purchase_id}/returns"): Rule(VIEW, scoped=True),
    ("POST", "/api/v1/purchases/{purchase_id}/returns"): Rule(MANAGE, "POST", scoped=True),
}

WRITE_BODIES = {
    "/api/v1/purchases/": {
        "reference": "MATRIX-2",
        "purchased_at": "2026-01-02T10:00:00+08:00",
        "channel": "online",
        "total_minor": 100,
        "lines": [{"category": "x", "description": "y", "quantity": 1, "unit_amount_minor": 100}],
    },
    "/api/v1/purchases/{purchase_id}/returns": {
        "reason": "damaged",
        "refund_minor": 100,
        "lines": [{"line_number": 1, "quantity": 1}],
    },
}

PLACEHOLDERS = {"{purchase_id}": lambda world: str(world["purchase"].pk)}


def build(world: dict) -> None:
    from cpms.retail.services import purchase_record
    from cpms.users.choices import Role

    world["purchase"] = purchase_record(
        actor=world["users"][Role.RELATIONSHIP_MANAGER],
        data={
            "customer_id": world["customer"].pk,
            "reference": "MATRIX-1",
            "purchased_at": timezone.now() - datetime.timedelta(days=1),
            "channel": "store",
            "store_code": "M01",
            "total_minor": 300,
            "lines": [
                {"category": "x", "description": "y", "quantity": 3, "unit_amount_minor": 100}
            ],
        },
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in ("retail:detail", "retail:return"):
        return {"pk": world["purchase"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.retail.models import Purchase, PurchaseLine, PurchaseReturn, PurchaseReturnLine

    return (
        Purchase.objects.count(),
        PurchaseLine.objects.count(),
        PurchaseReturn.objects.count(),
        PurchaseReturnLine.objects.count(),
    )


# a purchase recorded for the world's customer (out of the far branch's scope)
PROBES = [
    Probe(
        ("POST", "/api/v1/purchases/"),
        lambda world: world["customer"].pk,
        lambda world, ref: {**WRITE_BODIES["/api/v1/purchases/"], "customer_id": ref},
    )
]
