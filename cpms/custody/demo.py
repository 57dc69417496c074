"""Demo items in custody for the demo customers (tags `demo-finance` / `demo-retail`): one item
in every state (received, in custody, checked out, checked out and overdue, returned, disposed
through maker-checker, lost with a notified incident), a photo, and a closed stocktake.

Idempotent: an item is identified by its serial (`DEMO-<customer number>-<n>`); a second run
finds them and creates nothing. Does nothing when there are no demo customers."""

from __future__ import annotations

import datetime
import io
import random
from typing import Any

from django.utils import timezone

from cpms.approvals.services import approval_approve
from cpms.custody import services
from cpms.custody.choices import ConditionGrade, CustodyCategory, IncidentKind, PhotoStage
from cpms.custody.models import CustodyItem, Stocktake
from cpms.customers.models import Customer
from cpms.users.models import User

TAGS = ("demo-finance", "demo-retail")
CHECKER = "compliance1"
PLAN = (
    "received",
    "in_custody",
    "checked_out",
    "overdue",
    "returned",
    "disposed",
    "lost",
)
FINANCE_ITEMS = (
    (CustodyCategory.COLLATERAL, "黄金金条 1000 克", "金库 A-01"),
    (CustodyCategory.COLLATERAL, "房产证原件", "档案室 B-02"),
    (CustodyCategory.CONSIGNED, "名人字画一幅", "金库 A-02"),
    (CustodyCategory.CUSTOMER_MATERIAL, "股权质押合同正本", "档案室 B-01"),
)
RETAIL_ITEMS = (
    (CustodyCategory.EQUIPMENT_REPAIR, "笔记本电脑（维修）", "维修间 R-01"),
    (CustodyCategory.EQUIPMENT_REPAIR, "咖啡机（保修）", "维修间 R-02"),
    (CustodyCategory.CONSIGNED, "寄售手表", "柜台保险柜 C-01"),
    (CustodyCategory.CUSTOMER_MATERIAL, "定制面料三卷", "仓库 W-01"),
)


def _png(rng: random.Random) -> bytes:
    from PIL import Image  # lazy: Pillow loads only when the demo runs

    image = Image.new("RGB", (64, 48), tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _demo_customers() -> list[Customer]:
    rows = Customer.objects.filter(relationship_manager__isnull=False).select_related(
        "relationship_manager"
    )
    return [c for c in rows.order_by("pk") if any(tag in (c.tags or []) for tag in TAGS)]


def _receive(
    *, rng: random.Random, customer: Customer, actor: Any, serial: str, received: Any
) -> CustodyItem:
    """Take one demo item in, with an intake photo (same random draws, same order, each run)."""
    finance = "demo-finance" in (customer.tags or [])
    category, description, location = rng.choice(FINANCE_ITEMS if finance else RETAIL_ITEMS)
    item = services.item_receive(
        actor=actor,
        customer=customer,
        category=category,
        description=description,
        serial=serial,
        condition_grade=rng.choice([ConditionGrade.NEW, ConditionGrade.GOOD]),
        condition_notes="外观完好，附件齐全",
        location=location,
        now=received,
    )
    services.photo_add(
        actor=actor,
        item=item,
        data=_png(rng),
        stage=PhotoStage.INTAKE,
        original_name="intake.png",
        now=received,
    )
    return item


def _check_out(*, actor: Any, item: CustodyItem, overdue: bool, now: Any) -> None:
    """Out for a valuation (due next week), or to a repairer and ten days overdue."""
    if not overdue:
        services.item_check_out(
            actor=actor,
            item=item,
            to_whom="评估师 王工",
            purpose="年度估值",
            due_on=timezone.localdate(now) + datetime.timedelta(days=7),
            now=now,
        )
        return
    past = now - datetime.timedelta(days=20)
    services.item_check_out(
        actor=actor,
        item=item,
        to_whom="维修商 李师傅",
        purpose="维修",
        due_on=timezone.localdate(past) + datetime.timedelta(days=10),
        now=past,
    )


def _dispose(*, actor: Any, item: CustodyItem, serial: str, checker: User) -> None:
    """Ask for disposal and approve it as the checker (when the policy asks for a checker)."""
    request = services.item_dispose_request(
        actor=actor,
        item=item,
        consent_reference=f"CONSENT-{serial}",
        method="环保回收",
        reason="客户书面同意处置",
    )
    if getattr(request, "pk", None) and hasattr(request, "maker_id"):
        approval_approve(actor=checker, request_id=request.pk, reason="同意")


def _lose(*, actor: Any, item: CustodyItem, now: Any) -> None:
    """A lost item whose customer was notified and answered."""
    incident = services.incident_open(
        actor=actor,
        item=item,
        kind=IncidentKind.LOST,
        description="搬迁库位后未能找到该物品。",
        now=now,
    )
    services.incident_notify(actor=actor, incident=incident, now=now)
    services.incident_response_record(
        actor=actor,
        incident=incident,
        response="客户要求继续查找并按估值赔偿。",
        now=now,
    )


def _advance(
    *,
    target: str,
    actor: Any,
    item: CustodyItem,
    customer: Customer,
    serial: str,
    checker: User | None,
    received: Any,
    now: Any,
) -> None:
    """Take a received item on to its planned state."""
    if target == "received":
        return
    services.item_put_away(actor=actor, item=item, now=received + datetime.timedelta(hours=1))
    if target in ("checked_out", "overdue"):
        _check_out(actor=actor, item=item, overdue=target == "overdue", now=now)
    elif target == "returned":
        services.item_return(
            actor=actor,
            item=item,
            collected_by=customer.legal_name,
            id_checked=True,
            note="客户本人领取",
            now=now,
        )
    elif target == "disposed" and checker is not None:
        _dispose(actor=actor, item=item, serial=serial, checker=checker)
    elif target == "lost":
        _lose(actor=actor, item=item, now=now)


def _stocktake(customers: list[Customer]) -> str | None:
    """One closed stocktake (everything found) at the first customer's first location."""
    first = customers[0]
    actor = first.relationship_manager
    location = FINANCE_ITEMS[0][2] if "demo-finance" in (first.tags or []) else RETAIL_ITEMS[0][2]
    if Stocktake.objects.filter(started_by=actor, note="demo").exists():
        return None
    stocktake = services.stocktake_start(actor=actor, location=location, note="demo")
    for line in stocktake.lines.all():
        services.stocktake_count(
            actor=actor, stocktake=stocktake, item=line.item_id, result="found"
        )
    services.stocktake_close(actor=actor, stocktake=stocktake)
    return f"stocktake {location}"


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    customers = _demo_customers()
    if not customers:
        return []
    created: list[str] = []
    checker = User.objects.filter(username=CHECKER, is_active=True).first()
    now = timezone.now()
    for index, target in enumerate(PLAN):
        customer = customers[index % len(customers)]
        actor = customer.relationship_manager
        serial = f"DEMO-{customer.customer_number}-{index + 1}"
        if CustodyItem.objects.filter(holding__customer=customer, serial=serial).exists():
            continue
        received = now - datetime.timedelta(days=30 - index)
        item = _receive(rng=rng, customer=customer, actor=actor, serial=serial, received=received)
        created.append(f"custody item {item.holding.holding_number} ({target})")
        _advance(
            target=target,
            actor=actor,
            item=item,
            customer=customer,
            serial=serial,
            checker=checker,
            received=received,
            now=now,
        )
    stocktake = _stocktake(customers)
    if stocktake is not None:
        created.append(stocktake)
    return created
