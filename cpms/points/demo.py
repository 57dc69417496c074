"""Demo loyalty points for the retailer's demo customers (tag `demo-retail`). Their purchases
earn points through the retail seam as the retail demo records them (cpms.retail loads before
cpms.points); this adds, through the services: a backdated purchase whose lot has expired, a
redemption for some customers, the daily expiry run, and one adjustment awaiting approval.
Every random draw happens before the existence checks, so a second run creates nothing."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from cpms.access.checks import user_has_permission
from cpms.approvals.models import ApprovalRequest
from cpms.ledger.models import Transfer
from cpms.points import selectors, services
from cpms.points.choices import ADJUST_PERMISSION, APPROVAL_ACTION, REDEEM_PERMISSION
from cpms.retail import services as retail
from cpms.retail.demo import _customers
from cpms.retail.models import Purchase


def _old_purchase(customer: Any, actor: Any, days: int) -> None:
    reference = f"DEMO-{customer.customer_number}-PTS-OLD"
    if Purchase.objects.filter(reference=reference).exists():
        return
    retail.purchase_record(
        actor=actor,
        data={
            "customer_id": customer.pk,
            "reference": reference,
            "purchased_at": timezone.now() - datetime.timedelta(days=days),
            "channel": "online",
            "currency": "CNY",
            "total_minor": 45900,
            "lines": [
                {
                    "category": "服装",
                    "sku": "CL-1002",
                    "description": "羊毛针织衫",
                    "quantity": 1,
                    "unit_amount_minor": 45900,
                }
            ],
        },
    )


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    created: list[str] = []
    customers = [
        customer
        for customer in _customers()
        if customer.relationship_manager is not None
        and user_has_permission(customer.relationship_manager, REDEEM_PERMISSION)
    ]
    if not customers:
        return created
    old_days = rng.randint(380, 420)
    shares = [rng.choice((0.2, 0.3, 0.5)) for _customer in customers]
    # a purchase from more than a year ago: its lot is due to expire
    first = customers[0]
    if not Purchase.objects.filter(reference=f"DEMO-{first.customer_number}-PTS-OLD").exists():
        _old_purchase(first, first.relationship_manager, old_days)
        created.append(f"points: backdated purchase for {first.customer_number}")
    expired = services.points_expire(actor=None)
    if expired:
        created.append(f"points: {expired} lot(s) expired")
    for customer, share in list(zip(customers, shares, strict=True))[:3]:
        key = f"demo-{customer.customer_number}"
        if Transfer.objects.filter(idempotency_key=f"points:redeem:{customer.pk}:{key}").exists():
            continue
        points = int(selectors.available(customer) * share)
        if points <= 0:
            continue
        services.points_redeem(
            actor=customer.relationship_manager,
            customer=customer,
            points=points,
            reference="积分兑换：购物券",
            idempotency_key=key,
        )
        created.append(f"points: {customer.customer_number} redeemed {points}")
    target = customers[-1]
    actor = target.relationship_manager
    pending = ApprovalRequest.objects.filter(
        action=APPROVAL_ACTION, object_type=services.CUSTOMER_OBJECT, object_id=str(target.pk)
    ).exists()
    if not pending and user_has_permission(actor, ADJUST_PERMISSION):
        services.points_adjust_request(
            actor=actor, customer=target, points=200, reason="配送延误补偿积分（演示）"
        )
        created.append(f"points: adjustment requested for {target.customer_number}")
    return created
