"""Earning points on a recorded purchase (run by retail's purchase hook, registered in
`PointsConfig.ready()`, inside the purchase's transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from django.db import transaction
from django.utils import timezone

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.customers.models import Customer
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.points.choices import DEFAULT_EXPIRY_MONTHS, EventKind, LotSource
from cpms.points.models import PointsLot, PointsRule
from cpms.points.services._common import (
    CUSTOMER_OBJECT,
    _internal,
    _now_after,
    _points_account,
    _post,
    add_months,
)
from cpms.points.services.tiers import (
    _member_locked,
    _refresh_tier,
    active_rule,
    rolling_spend,
    tier_for_spend,
)


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _multiplier(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


def earn_points(
    rule: PointsRule, lines: Sequence[Any], tier: Mapping[str, Any]
) -> tuple[int, dict[str, Fraction]]:
    """(whole points, exact points per line id): each line earns amount × points per unit ×
    category multiplier × tier multiplier / unit, exactly; the purchase earns the sum rounded
    down to a whole point."""
    categories = {
        str(name).strip(): _multiplier(value)
        for name, value in (rule.category_multipliers or {}).items()
    }
    tier_multiplier = _multiplier(tier.get("multiplier", "1"))
    exact: dict[str, Fraction] = {}
    for line in lines:
        category = categories.get((line.category or "").strip(), Fraction(1))
        exact[str(line.pk)] = (
            Fraction(line.amount_minor)
            * rule.points_per_unit
            * category
            * tier_multiplier
            / rule.unit_minor
        )
    return floor(sum(exact.values(), Fraction(0))), exact


def points_earn_for_purchase(*, actor: Any, purchase: Any) -> PointsLot | None:
    """Earn points for a recorded purchase (called by the retail purchase hook inside the
    purchase's transaction; the purchase's own permission check covers it). No active rule for
    the purchase's currency or fewer than one point earns nothing. A second call for the same
    purchase returns the lot of the first."""
    with transaction.atomic():
        existing = PointsLot.objects.filter(purchase_id=purchase.pk).first()
        if existing is not None:
            return existing
        customer = purchase.customer
        member = _member_locked(customer, create=True)
        rule = active_rule(purchase.currency)
        lot = None
        if rule is not None:
            spend = rolling_spend(customer.pk, rule.currency, before=purchase.purchased_at)
            tier = tier_for_spend(rule, spend)
            points, exact = earn_points(rule, list(purchase.lines.all()), tier)
            if points > 0:
                lot = _earn(actor, purchase, customer, rule, tier, spend, points, exact)
        _refresh_tier(actor, member, as_of=_now_after(purchase.purchased_at))
    return lot


def _earn(
    actor: Any,
    purchase: Any,
    customer: Customer,
    rule: PointsRule,
    tier: Mapping[str, Any],
    spend: int,
    points: int,
    exact: Mapping[str, Fraction],
) -> PointsLot:
    """Post the earned points, create their lot (with the basis they were earned on) and
    audit the earning."""
    account = _points_account(customer, actor)
    transfer = _post(
        actor,
        ledger.TransferSpec(
            debit_account=_internal(AccountPurpose.POINTS_ISSUANCE, actor),
            credit_account=account,
            amount=points,
            reference=f"Points earned {purchase.reference}"[:140],
            metadata={"points_event": EventKind.EARN, "purchase": purchase.pk},
            idempotency_key=f"points:earn:purchase:{purchase.pk}",
        ),
    )
    earned_on = timezone.localdate(purchase.purchased_at)
    lot = PointsLot.objects.create(
        customer=customer,
        account=account,
        source=LotSource.PURCHASE,
        purchase=purchase,
        earn_transfer=transfer,
        earned_on=earned_on,
        expires_on=add_months(earned_on, rule.expiry_months or DEFAULT_EXPIRY_MONTHS),
        points=points,
        basis={
            "rule_id": rule.pk,
            "currency": rule.currency,
            "points_per_unit": rule.points_per_unit,
            "unit_minor": rule.unit_minor,
            "tier": tier.get("code"),
            "tier_multiplier": str(tier.get("multiplier")),
            "spend_12m_minor": spend,
            "lines": {key: _fraction_text(value) for key, value in exact.items()},
        },
    )
    audit_record(
        actor=actor,
        action=AuditAction.POINTS_EARNED,
        object_type=CUSTOMER_OBJECT,
        object_id=customer.pk,
        after={
            "purchase_id": purchase.pk,
            "reference": purchase.reference,
            "points": points,
            "tier": tier.get("code"),
            "lot_id": lot.pk,
            "expires_on": lot.expires_on.isoformat(),
            "transfer_id": transfer.pk,
        },
    )
    return lot
