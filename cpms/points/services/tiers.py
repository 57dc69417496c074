"""The earn rule in force, tiers by rolling 12-month spend, and the customer's member row
(locked by every points write of that customer, and where their current tier is stored)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.customers.models import Customer
from cpms.points.models import PointsMember, PointsRule
from cpms.points.services._common import CUSTOMER_OBJECT
from cpms.retail.models import Purchase, PurchaseReturn

SPEND_WINDOW = datetime.timedelta(days=365)


def active_rule(currency: str) -> PointsRule | None:
    return PointsRule.objects.filter(currency=(currency or "").upper(), active=True).first()


def sorted_tiers(rule: PointsRule) -> list[dict[str, Any]]:
    return sorted(rule.tiers or [], key=lambda tier: int(tier["threshold_minor"]))


def tier_for_spend(rule: PointsRule, spend_minor: int) -> dict[str, Any]:
    """The highest tier whose threshold the spend reaches (>=)."""
    tiers = sorted_tiers(rule)
    chosen = tiers[0] if tiers else {"code": "standard", "multiplier": "1", "threshold_minor": 0}
    for tier in tiers:
        if spend_minor >= int(tier["threshold_minor"]):
            chosen = tier
    return chosen


def rolling_spend(customer_id: int, currency: str, *, before: datetime.datetime) -> int:
    """Net spend in `currency` over the 365 days before `before` (exclusive): purchase totals
    made in the window minus refunds of returns made in the window; never below zero."""
    since = before - SPEND_WINDOW
    spent = Purchase.objects.filter(
        customer_id=customer_id,
        currency=currency,
        purchased_at__gte=since,
        purchased_at__lt=before,
    ).aggregate(total=Coalesce(Sum("total_minor"), 0))["total"]
    refunded = PurchaseReturn.objects.filter(
        purchase__customer_id=customer_id,
        purchase__currency=currency,
        returned_at__gte=since,
        returned_at__lt=before,
    ).aggregate(total=Coalesce(Sum("refund_minor"), 0))["total"]
    return max(0, spent - refunded)


def _member_locked(customer: Customer, *, create: bool) -> PointsMember | None:
    """The customer's member row, locked: every points write of one customer holds it."""
    member = PointsMember.objects.select_for_update().filter(customer=customer).first()
    if member is not None or not create:
        return member
    rule = active_rule("CNY")
    lowest = sorted_tiers(rule)[0]["code"] if rule and rule.tiers else "standard"
    try:
        with transaction.atomic():
            PointsMember.objects.create(customer=customer, tier=lowest)
    except IntegrityError:  # created concurrently
        pass
    return PointsMember.objects.select_for_update().get(customer=customer)


def _refresh_tier(actor: Any, member: PointsMember, *, as_of: datetime.datetime) -> None:
    """Store the tier the customer's rolling spend gives now; audit a change."""
    rule = active_rule("CNY")
    if rule is None or not rule.tiers:
        return
    spend = rolling_spend(member.customer_id, rule.currency, before=as_of)
    tier = tier_for_spend(rule, spend)
    if tier["code"] == member.tier:
        return
    before = member.tier
    member.tier = tier["code"]
    member.since = timezone.now()
    member.save(update_fields=["tier", "since"])
    audit_record(
        actor=actor,
        action=AuditAction.POINTS_TIER_CHANGED,
        object_type=CUSTOMER_OBJECT,
        object_id=member.customer_id,
        before={"tier": before},
        after={"tier": member.tier, "spend_12m_minor": spend, "currency": rule.currency},
    )
