"""Demo purchases, returns and exchanges for the retailer's demo customers (tag `demo-retail`),
recorded through the services as each customer's relationship manager. Deterministic for the
seed; idempotent (receipt numbers are derived from the customer number, so a second run finds
them and creates nothing). Does nothing when there are no demo retail customers."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from cpms.access.checks import user_has_permission
from cpms.customers.models import Customer
from cpms.retail import services
from cpms.retail.choices import Channel, ReturnKind, ReturnReason
from cpms.retail.models import Purchase

TAG = "demo-retail"
STORES = ("SH-NJR01", "SH-XJH02", "BJ-WFJ01", "SZ-HQB01")
CATALOGUE = (
    ("服装", "CL-1001", "纯棉衬衫", 19900),
    ("服装", "CL-1002", "羊毛针织衫", 45900),
    ("鞋履", "SH-2001", "跑步鞋", 59900),
    ("鞋履", "SH-2002", "帆布鞋", 26900),
    ("家居", "HM-3001", "陶瓷餐具套装", 32800),
    ("家居", "HM-3002", "真丝枕套", 15800),
    ("美妆", "BT-4001", "保湿面霜", 28000),
    ("食品", "FD-5001", "龙井茶礼盒", 68800),
    ("数码", "DG-6001", "蓝牙耳机", 79900),
    ("数码", "DG-6002", "充电宝", 12900),
)


def _customers() -> list[Customer]:
    candidates = Customer.objects.filter(tags__icontains=TAG).select_related("relationship_manager")
    return [customer for customer in candidates.order_by("pk") if TAG in (customer.tags or [])]


def _lines(rng: random.Random) -> list[dict[str, Any]]:
    lines = []
    for category, sku, description, price in rng.sample(CATALOGUE, rng.randint(1, 4)):
        quantity = rng.choice((1, 1, 1, 2, 3))
        discount = rng.choice((0, 0, 0, price // 10))
        lines.append(
            {
                "category": category,
                "sku": sku,
                "description": description,
                "quantity": quantity,
                "unit_amount_minor": price,
                "amount_minor": quantity * price - discount,
            }
        )
    return lines


def _purchase(
    rng: random.Random, reference: str, customer: Customer, when: datetime.datetime
) -> dict[str, Any]:
    channel = rng.choice((Channel.STORE, Channel.STORE, Channel.ONLINE, Channel.APP, Channel.PHONE))
    lines = _lines(rng)
    return {
        "customer_id": customer.pk,
        "reference": reference,
        "purchased_at": when,
        "channel": channel,
        "store_code": rng.choice(STORES) if channel == Channel.STORE else "",
        "currency": "CNY",
        "total_minor": sum(line["amount_minor"] for line in lines),
        "lines": lines,
    }


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    created: list[str] = []
    now = timezone.now().replace(second=0, microsecond=0)
    for customer in _customers():
        actor = customer.relationship_manager
        if actor is None or not user_has_permission(actor, "retail.manage"):
            continue
        for number in range(1, rng.randint(2, 5) + 1):
            reference = f"DEMO-{customer.customer_number}-{number:02d}"
            when = now - datetime.timedelta(days=rng.randint(3, 500), minutes=rng.randint(0, 600))
            data = _purchase(rng, reference, customer, when)
            outcome = rng.random()
            # every random draw happens before the existence check, so a second run follows
            # the same random sequence and finds everything already there
            returned_at = min(when + datetime.timedelta(days=rng.randint(1, 14)), now)
            reason = rng.choice(
                (ReturnReason.DAMAGED, ReturnReason.CHANGED_MIND, ReturnReason.OTHER)
            )
            if Purchase.objects.filter(reference=reference).exists():
                continue
            purchase = services.purchase_record(actor=actor, data=data)
            created.append(f"purchase {reference}")
            first = data["lines"][0]
            if outcome < 0.2:  # a refund of one unit of the first line
                value = services.line_share(first["amount_minor"], first["quantity"], 0, 1)
                services.purchase_return(
                    actor=actor,
                    purchase=purchase,
                    data={
                        "kind": ReturnKind.RETURN,
                        "reason": reason,
                        "note": "包装破损，顾客要求退款",
                        "returned_at": returned_at,
                        "refund_minor": value,
                        "lines": [{"line_number": 1, "quantity": 1}],
                    },
                )
                created.append(f"return of {reference}")
            elif outcome < 0.3:  # an exchange for a new purchase of the same item
                replacement = services.purchase_record(
                    actor=actor,
                    data={
                        **data,
                        "reference": f"{reference}-X",
                        "purchased_at": returned_at,
                        "lines": [{**first, "quantity": 1, "amount_minor": None}],
                        "total_minor": first["unit_amount_minor"],
                    },
                )
                services.purchase_return(
                    actor=actor,
                    purchase=purchase,
                    data={
                        "kind": ReturnKind.EXCHANGE,
                        "reason": ReturnReason.WRONG_ITEM,
                        "note": "尺码不合适，换货",
                        "returned_at": returned_at,
                        "replacement_reference": replacement.reference,
                        "lines": [{"line_number": 1, "quantity": 1}],
                    },
                )
                created.append(f"exchange of {reference} for {replacement.reference}")
    return created
