"""Demo data of data quality: one near-duplicate of a demo customer (a homophone surname, same
birth date and phone, an ID number one sequence apart: a typing error), registered through the
customer services as the demo relationship manager rm1 (who confirms the possible-duplicate
warning, as a rushed clerk would), then a duplicate scan in rm1's scope so the review queue
has work.

Does nothing when there are no demo customers (tags `demo-finance` / `demo-retail`); a second
run finds the tagged duplicate and creates nothing."""

from __future__ import annotations

import random
from typing import Any

from cpms.customers import services as customer_services
from cpms.customers.choices import CustomerKind, CustomerStatus, IdentityKind
from cpms.customers.models import Customer
from cpms.privacy.protected import pii_read_many
from cpms.quality import services
from cpms.users.models import User

DEMO_TAGS = ("demo-finance", "demo-retail")
DUPLICATE_TAG = "demo-duplicate"
ACTOR = "rm1"
# surname -> a different character read the same way (张三 / 章三 share "zhangsan")
HOMOPHONES = {
    "张": "章",
    "王": "汪",
    "李": "黎",
    "刘": "柳",
    "杨": "阳",
    "黄": "皇",
    "周": "州",
    "徐": "许",
    "吴": "武",
    "赵": "照",
    "林": "琳",
    "何": "和",
    "马": "玛",
    "郭": "国",
    "罗": "萝",
    "朱": "珠",
    "胡": "湖",
    "高": "皋",
}


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    actor = User.objects.filter(username=ACTOR, is_active=True).first()
    if actor is None:
        return []
    customers = list(
        Customer.objects.filter(
            kind=CustomerKind.INDIVIDUAL,
            identity_kind=IdentityKind.RESIDENT_ID,
            relationship_manager=actor,
        )
        .exclude(status=CustomerStatus.CLOSED)
        .order_by("pk")
        .only("pk", "legal_name", "tags", "branch_id", "date_of_birth", "customer_number")
    )
    if any(DUPLICATE_TAG in customer.tags for customer in customers):
        return []
    sources = [c for c in customers if any(tag in c.tags for tag in DEMO_TAGS)]
    sources = [c for c in sources if c.legal_name[:1] in HOMOPHONES] or sources
    if not sources:
        return []
    source = rng.choice(sources[:20])
    source = Customer.objects.get(pk=source.pk)
    pii = pii_read_many([source], ("identity_number", "phone", "email"))[0]
    name = source.legal_name
    twin_name = HOMOPHONES.get(name[:1], name[:1]) + name[1:]
    twin = customer_services.customer_register(
        actor=actor,
        data={
            "kind": CustomerKind.INDIVIDUAL,
            "legal_name": twin_name,
            "identity_kind": IdentityKind.RESIDENT_ID,
            "identity_number": _neighbour(pii["identity_number"] or ""),
            "date_of_birth": source.date_of_birth,
            "phone": pii["phone"] or "",
            "branch_id": source.branch_id,
            "relationship_manager_id": actor.pk,
            "tags": [DUPLICATE_TAG],  # not a demo-* profile tag: later demos must not build on it
            "confirm_possible_duplicate": True,
            "duplicate_reason": "客户坚持这是一个新账户（演示）",
        },
    )
    report = services.duplicate_scan(actor=actor)
    return [
        f"customer {twin.customer_number} (near-duplicate of {source.customer_number})",
        f"possible duplicates flagged: {report.flagged}",
    ]


def _neighbour(number: str) -> str:
    """A valid resident ID with the same region and birth date and the next sequence number
    (the same document cannot be registered twice)."""
    from stdnum.cn import ric

    if len(number) != 18:
        return number
    sequence = (int(number[14:17]) % 999) + 1
    body = f"{number[:14]}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")
