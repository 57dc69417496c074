"""Loyalty points: earning (rule, category and tier multipliers, rounding), FIFO redemption,
expiry, return reversal (pro rata, shortfall), adjustments through approval, tiers, replays.
Every scenario ends with the ledger invariants and balance = sum of lot remainders."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_approve, approval_reject
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import IdempotencyConflict
from cpms.ledger.models import Account, Transfer
from cpms.ledger.selectors import account_balance
from cpms.points import selectors, services
from cpms.points.errors import InsufficientPoints, InvalidRule
from cpms.points.models import (
    PointsLot,
    PointsLotUse,
    PointsMember,
    PointsRule,
    PointsShortfall,
)
from tests.points.conftest import assert_books

RULE = {
    "name": "CNY points",
    "points_per_unit": 1,
    "unit_minor": 100,
    "category_multipliers": {},
    "tiers": [
        {"code": "standard", "name": "Standard", "threshold_minor": 0, "multiplier": "1.0"},
        {"code": "silver", "name": "Silver", "threshold_minor": 500_000, "multiplier": "1.25"},
        {"code": "gold", "name": "Gold", "threshold_minor": 2_000_000, "multiplier": "1.5"},
    ],
    "expiry_months": 12,
    "active": True,
}


def _remaining(lot: PointsLot) -> int:
    used = sum(lot.uses.values_list("points", flat=True))
    return lot.points - used


def _breakage() -> int:
    account = Account.objects.get(purpose=AccountPurpose.POINTS_BREAKAGE, asset__code="PTS")
    return account_balance(account).posted


# ------------------------------------------------------------------------ default rule


def test_default_rule__created_by_migration(db):
    rule = PointsRule.objects.get(currency="CNY")
    assert (rule.points_per_unit, rule.unit_minor, rule.expiry_months, rule.active) == (
        1,
        100,
        12,
        True,
    )
    assert [(t["code"], t["threshold_minor"], t["multiplier"]) for t in rule.tiers] == [
        ("standard", 0, "1.0"),
        ("silver", 500_000, "1.25"),
        ("gold", 2_000_000, "1.5"),
    ]


def test_add_months__clamps_to_month_end():
    assert services.add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    assert services.add_months(datetime.date(2024, 2, 29), 12) == datetime.date(2025, 2, 28)
    assert services.add_months(datetime.date(2026, 12, 3), 12) == datetime.date(2027, 12, 3)


# ------------------------------------------------------------------------ earning


def test_earn__rounds_down_the_purchase_total(buy, customer):
    purchase = buy(customer)  # 284.90 CNY
    lot = PointsLot.objects.get(purchase=purchase)
    earned_on = timezone.localdate(purchase.purchased_at)
    assert (lot.points, lot.source, lot.earned_on) == (284, "purchase", earned_on)
    assert lot.expires_on == services.add_months(earned_on, 12)
    assert lot.earn_transfer.idempotency_key == f"points:earn:purchase:{purchase.pk}"
    assert lot.basis["tier"] == "standard"
    assert selectors.balance(customer) == 284
    issuance = Account.objects.get(purpose=AccountPurpose.POINTS_ISSUANCE, asset__code="PTS")
    assert account_balance(issuance).posted == 284
    entry = AuditEntry.objects.get(action=AuditAction.POINTS_EARNED)
    assert entry.after["points"] == 284 and entry.after["purchase_id"] == purchase.pk
    assert PointsMember.objects.get(customer=customer).tier == "standard"
    assert_books(customer)


def test_earn__category_multiplier(buy, customer, rm1):
    services.points_rule_save(
        actor=rm1, currency="CNY", data={**RULE, "category_multipliers": {"服装": "2"}}
    )
    buy(customer)  # 200.00 × 2 + 59.90 + 25.00 = 484.90
    assert PointsLot.objects.get(customer=customer).points == 484
    assert_books(customer)


def test_earn__decimal_category_and_tier_multipliers(buy, customer, rm1):
    services.points_rule_save(
        actor=rm1, currency="CNY", data={**RULE, "category_multipliers": {"数码": "1.5"}}
    )
    buy(customer, amount=500_000, days_ago=40, category="食品")  # 5000 points, now silver
    purchase = buy(customer, amount=9_999, days_ago=5, category="数码")
    # 99.99 × 1.5 × 1.25 = 187.48125
    assert PointsLot.objects.get(purchase=purchase).points == 187
    assert PointsLot.objects.get(purchase=purchase).basis["tier"] == "silver"
    assert_books(customer)


def test_earn__less_than_one_point_earns_nothing(buy, customer):
    purchase = buy(customer, amount=99)
    assert not PointsLot.objects.filter(purchase=purchase).exists()
    assert selectors.balance(customer) == 0
    assert PointsMember.objects.filter(customer=customer).exists()
    assert_books(customer)


def test_earn__inactive_rule_earns_nothing(buy, customer, rm1):
    services.points_rule_save(actor=rm1, currency="CNY", data={**RULE, "active": False})
    buy(customer)
    assert PointsLot.objects.count() == 0
    assert Transfer.objects.count() == 0


def test_earn__links_account_to_active_membership(buy, customer, rm1):
    from cpms.holdings.models import Holding

    holding = Holding.objects.create(
        holding_number="H-M-1", customer=customer, kind="membership", identifier="VIP-1"
    )
    buy(customer)
    account = Account.objects.get(customer=customer, purpose=AccountPurpose.CUSTOMER_POINTS)
    assert account.holding_id == holding.pk
    assert_books(customer)


def test_earn__replay_returns_the_first_lot(buy, customer, rm1):
    purchase = buy(customer)
    transfers = Transfer.objects.count()
    again = services.points_earn_for_purchase(actor=rm1, purchase=purchase)
    assert again == PointsLot.objects.get(purchase=purchase)
    assert Transfer.objects.count() == transfers
    assert selectors.balance(customer) == 284
    assert_books(customer)


# ------------------------------------------------------------------------ tiers


@pytest.mark.parametrize(
    ("earlier", "tier", "points"),
    [(499_999, "standard", 100), (500_000, "silver", 125), (2_000_000, "gold", 150)],
)
def test_tier__thresholds_apply_to_the_next_purchase(buy, customer, earlier, tier, points):
    buy(customer, amount=earlier, days_ago=30)
    purchase = buy(customer, amount=10_000, days_ago=2)
    lot = PointsLot.objects.get(purchase=purchase)
    assert (lot.basis["tier"], lot.points) == (tier, points)
    assert selectors.customer_tier(customer, purchase.purchased_at).code == tier
    assert_books(customer)


def test_tier__outside_the_rolling_window_does_not_count(buy, customer):
    buy(customer, amount=2_000_000, days_ago=400)
    purchase = buy(customer, amount=10_000, days_ago=2)
    assert PointsLot.objects.get(purchase=purchase).basis["tier"] == "standard"
    assert selectors.customer_tier(customer).spend_minor == 10_000


def test_tier__refunds_reduce_spend(buy, give_back, customer):
    big = buy(customer, amount=600_000, days_ago=30)
    assert selectors.customer_tier(customer).code == "silver"
    give_back(big, {1: 1}, refund=200_000)
    info = selectors.customer_tier(customer)
    assert (info.code, info.spend_minor) == ("standard", 400_000)
    assert PointsMember.objects.get(customer=customer).tier == "standard"


def test_tier__change_is_recorded_and_audited(buy, customer):
    buy(customer, amount=500_000, days_ago=30)
    member = PointsMember.objects.get(customer=customer)
    assert member.tier == "silver"
    entry = AuditEntry.objects.get(action=AuditAction.POINTS_TIER_CHANGED)
    assert entry.before == {"tier": "standard"}
    assert entry.after == {"tier": "silver", "spend_12m_minor": 500_000, "currency": "CNY"}


def test_customer_tier__as_of_a_date(buy, customer):
    buy(customer, amount=500_000, days_ago=30)
    before = timezone.localdate() - datetime.timedelta(days=31)
    assert selectors.customer_tier(customer, before).code == "standard"
    assert selectors.customer_tier(customer, timezone.localdate()).code == "silver"


# ------------------------------------------------------------------------ redemption


def test_redeem__fifo_by_expiry_across_lots(buy, customer, rm1):
    a = buy(customer, amount=10_000, days_ago=300)  # 100, expires first
    b = buy(customer, amount=20_000, days_ago=10)  # 200, expires last
    c = buy(customer, amount=5_000, days_ago=100)  # 50, expires second
    lot_a, lot_b, lot_c = (PointsLot.objects.get(purchase=p) for p in (a, b, c))
    first = services.points_redeem(actor=rm1, customer=customer, points=130, reference="V-1")
    assert first.uses == [(lot_a.pk, 100), (lot_c.pk, 30)]
    second = services.points_redeem(actor=rm1, customer=customer, points=150)
    assert second.uses == [(lot_c.pk, 20), (lot_b.pk, 130)]
    assert [_remaining(lot) for lot in (lot_a, lot_b, lot_c)] == [0, 70, 0]
    assert selectors.balance(customer) == 70
    assert first.transfer.amount == 130 and first.transfer.reference == "V-1"
    entry = AuditEntry.objects.filter(action=AuditAction.POINTS_REDEEMED).order_by("pk").first()
    assert entry.after["lots"] == [[lot_a.pk, 100], [lot_c.pk, 30]]
    assert_books(customer)


def test_redeem__more_than_available_is_refused(buy, customer, rm1):
    buy(customer)
    transfers, uses = Transfer.objects.count(), PointsLotUse.objects.count()
    with pytest.raises(InsufficientPoints) as caught:
        services.points_redeem(actor=rm1, customer=customer, points=285)
    assert caught.value.code == "points.insufficient"
    assert caught.value.fields == {"points": "At most 284 points can be redeemed."}
    assert (Transfer.objects.count(), PointsLotUse.objects.count()) == (transfers, uses)
    assert selectors.balance(customer) == 284


def test_redeem__expired_lot_cannot_be_redeemed_before_the_job(buy, customer, rm1, monkeypatch):
    buy(customer, amount=10_000, days_ago=360)
    monkeypatch.setattr(
        services._common, "_today", lambda: timezone.localdate() + datetime.timedelta(10)
    )
    with pytest.raises(InsufficientPoints):
        services.points_redeem(actor=rm1, customer=customer, points=1)
    assert selectors.balance(customer) == 100
    assert selectors.available(customer) == 0


def test_redeem__zero_or_fraction_is_refused(buy, customer, rm1):
    buy(customer)
    with pytest.raises(ValidationFailed) as caught:
        services.points_redeem(actor=rm1, customer=customer, points=0)
    assert "points" in caught.value.fields
    with pytest.raises(ValidationFailed):
        services.points_redeem(actor=rm1, customer=customer, points=1.5)
    assert selectors.balance(customer) == 284


def test_redeem__idempotency_key_replays(buy, customer, rm1):
    buy(customer)
    first = services.points_redeem(actor=rm1, customer=customer, points=40, idempotency_key="k1")
    again = services.points_redeem(actor=rm1, customer=customer, points=40, idempotency_key="k1")
    assert again.replayed and again.transfer.pk == first.transfer.pk
    assert again.uses == first.uses
    with pytest.raises(IdempotencyConflict):
        services.points_redeem(actor=rm1, customer=customer, points=41, idempotency_key="k1")
    assert selectors.balance(customer) == 244
    assert_books(customer)


def test_redeem__customer_service_may_redeem(buy, customer, service):
    buy(customer)
    services.points_redeem(actor=service, customer=customer, points=10)
    assert selectors.balance(customer) == 274


def test_redeem__without_permission_changes_nothing(buy, customer, auditor):
    buy(customer)
    transfers = Transfer.objects.count()
    with pytest.raises(PermissionDenied):
        services.points_redeem(actor=auditor, customer=customer, points=10)
    assert Transfer.objects.count() == transfers
    assert selectors.balance(customer) == 284


def test_redeem__out_of_scope_looks_missing(buy, customer, rm2):
    buy(customer)
    with pytest.raises(NotFound):
        services.points_redeem(actor=rm2, customer=customer, points=10)
    assert selectors.balance(customer) == 284


# ------------------------------------------------------------------------ expiry


def test_expire__only_the_remainder_of_a_partly_redeemed_lot(buy, customer, rm1, monkeypatch):
    old = buy(customer, amount=10_000, days_ago=360)  # 100 points, expire in ~5 days
    new = buy(customer, amount=20_000, days_ago=5)  # 200 points
    services.points_redeem(actor=rm1, customer=customer, points=30)  # from the old lot
    lot = PointsLot.objects.get(purchase=old)
    assert services.points_expire() == 0  # not due yet
    monkeypatch.setattr(services._common, "_today", lambda: lot.expires_on)
    assert services.points_expire() == 1
    assert _remaining(lot) == 0
    assert _remaining(PointsLot.objects.get(purchase=new)) == 200
    assert _breakage() == 70
    assert selectors.balance(customer) == 200
    use = PointsLotUse.objects.get(lot=lot, kind="expire")
    assert (use.points, use.transfer.idempotency_key) == (70, f"points:expire:lot:{lot.pk}")
    entry = AuditEntry.objects.get(action=AuditAction.POINTS_EXPIRED)
    assert (entry.object_id, entry.after["points"]) == (str(lot.pk), 70)
    assert services.points_expire() == 0  # idempotent
    assert _breakage() == 70
    assert_books(customer)


def test_expire__lot_expires_on_its_date_not_before(buy, customer, monkeypatch):
    old = buy(customer, amount=10_000, days_ago=360)
    lot = PointsLot.objects.get(purchase=old)
    day_before = lot.expires_on - datetime.timedelta(days=1)
    monkeypatch.setattr(services._common, "_today", lambda: day_before)
    assert services.points_expire() == 0
    assert selectors.available(customer, as_of=day_before) == 100
    monkeypatch.setattr(services._common, "_today", lambda: lot.expires_on)
    assert services.points_expire() == 1
    assert selectors.balance(customer) == 0
    assert_books(customer)


def test_expire__future_date_is_refused(db):
    with pytest.raises(ValidationFailed) as caught:
        services.points_expire(as_of=timezone.localdate() + datetime.timedelta(days=1))
    assert "as_of" in caught.value.fields


def test_expire__fully_used_lot_is_skipped(buy, customer, rm1, monkeypatch):
    old = buy(customer, amount=10_000, days_ago=360)
    services.points_redeem(actor=rm1, customer=customer, points=100)
    monkeypatch.setattr(
        services._common, "_today", lambda: PointsLot.objects.get(purchase=old).expires_on
    )
    assert services.points_expire() == 0
    assert not PointsLotUse.objects.filter(kind="expire").exists()


# ------------------------------------------------------------------------ return reversal


def test_reverse__pro_rata_and_exact_over_all_returns(buy, give_back, customer):
    purchase = buy(customer)  # 284 points from 284.9 exact
    lot = PointsLot.objects.get(purchase=purchase)
    give_back(purchase, {1: 1}, refund=10_000)  # 100.00 of clothes -> 100 points
    assert selectors.balance(customer) == 184
    give_back(purchase, {3: 1})  # 8.33 -> cumulative 108.33 -> 8 more
    assert selectors.balance(customer) == 176
    give_back(purchase, {1: 1, 2: 1, 3: 2})  # the rest: cumulative 284.9 -> 284
    assert selectors.balance(customer) == 0
    amounts = [
        t.amount for t in Transfer.objects.filter(metadata__points_event="reverse").order_by("pk")
    ]
    assert amounts == [100, 8, 176]
    assert _remaining(lot) == 0
    assert not PointsShortfall.objects.exists()
    assert_books(customer)


def test_reverse__takes_from_the_purchase_lot_first(buy, give_back, customer):
    older = buy(customer, amount=10_000, days_ago=100)  # 100 points, expires first
    purchase = buy(customer, days_ago=5)  # 284 points
    give_back(purchase, {1: 1})
    assert _remaining(PointsLot.objects.get(purchase=older)) == 100
    assert _remaining(PointsLot.objects.get(purchase=purchase)) == 184
    assert_books(customer)


def test_reverse__shortfall_when_points_were_spent(buy, give_back, customer, rm1):
    purchase = buy(customer, days_ago=20)  # 284
    later = buy(customer, amount=10_000, days_ago=5)  # 100, expires later
    services.points_redeem(actor=rm1, customer=customer, points=250)  # from the 284 lot
    record = give_back(purchase, {1: 2, 2: 1, 3: 3})  # everything: 284 due
    shortfall = PointsShortfall.objects.get(purchase_return=record)
    assert (shortfall.points_due, shortfall.points_reversed, shortfall.points) == (284, 134, 150)
    assert _remaining(PointsLot.objects.get(purchase=later)) == 0
    assert selectors.balance(customer) == 0
    entry = AuditEntry.objects.get(action=AuditAction.POINTS_REVERSED)
    assert (entry.after["points_due"], entry.after["points_reversed"]) == (284, 134)
    assert entry.after["shortfall"] == 150
    assert_books(customer)


def test_reverse__nothing_left_records_the_whole_shortfall(buy, give_back, customer, rm1):
    purchase = buy(customer)
    services.points_redeem(actor=rm1, customer=customer, points=284)
    transfers = Transfer.objects.count()
    record = give_back(purchase, {1: 1})
    assert Transfer.objects.count() == transfers  # nothing to take, no transfer
    assert PointsShortfall.objects.get(purchase_return=record).points == 100
    assert_books(customer)


def test_reverse__replay_posts_nothing(buy, give_back, customer, rm1):
    purchase = buy(customer)
    record = give_back(purchase, {1: 1})
    transfers = Transfer.objects.count()
    assert services.points_reverse_for_return(actor=rm1, purchase_return=record) is None
    assert Transfer.objects.count() == transfers
    assert selectors.balance(customer) == 184


def test_reverse__exchange_reverses_and_replacement_earns(buy, give_back, customer):
    purchase = buy(customer, amount=10_000, days_ago=5)
    give_back(purchase, {1: 1}, kind="exchange")
    assert selectors.balance(customer) == 0
    buy(customer, amount=10_000, days_ago=1)
    assert selectors.balance(customer) == 100
    assert_books(customer)


# ------------------------------------------------------------------------ adjustments


def test_adjust__approved_adds_a_lot(customer, rm1, checker):
    outcome = services.points_adjust_request(
        actor=rm1, customer=customer, points=50, reason="Goodwill for a late delivery"
    )
    assert not outcome.executed
    request = ApprovalRequest.objects.get(pk=outcome.approval_request_id)
    assert (request.action, request.status, request.payload["points"]) == (
        "points.adjust",
        "pending",
        50,
    )
    assert selectors.balance(customer) == 0
    approval_approve(actor=checker, request_id=request.pk)
    lot = PointsLot.objects.get(customer=customer)
    assert (lot.source, lot.points, lot.earned_on) == ("adjustment", 50, timezone.localdate())
    assert lot.earn_transfer.idempotency_key == f"points:adjust:request:{request.pk}"
    assert selectors.balance(customer) == 50
    assert AuditEntry.objects.filter(action=AuditAction.POINTS_ADJUSTMENT_REQUESTED).count() == 1
    assert AuditEntry.objects.get(action=AuditAction.POINTS_ADJUSTED).after["points"] == 50
    assert_books(customer)


def test_adjust__rejected_posts_nothing(customer, rm1, checker):
    outcome = services.points_adjust_request(
        actor=rm1, customer=customer, points=50, reason="Goodwill"
    )
    approval_reject(actor=checker, request_id=outcome.approval_request_id, reason="No basis")
    assert ApprovalRequest.objects.get(pk=outcome.approval_request_id).status == "rejected"
    assert PointsLot.objects.count() == 0 and Transfer.objects.count() == 0
    assert selectors.balance(customer) == 0


def test_adjust__negative_takes_fifo(buy, customer, rm1, checker):
    buy(customer)
    outcome = services.points_adjust_request(
        actor=rm1, customer=customer, points=-84, reason="Duplicate earn"
    )
    approval_approve(actor=checker, request_id=outcome.approval_request_id)
    assert selectors.balance(customer) == 200
    assert PointsLotUse.objects.get(kind="adjust").points == 84
    assert_books(customer)


def test_adjust__negative_beyond_balance_fails_on_approval(buy, customer, rm1, checker):
    buy(customer)
    outcome = services.points_adjust_request(
        actor=rm1, customer=customer, points=-300, reason="Too much"
    )
    with pytest.raises(InsufficientPoints):
        approval_approve(actor=checker, request_id=outcome.approval_request_id)
    assert ApprovalRequest.objects.get(pk=outcome.approval_request_id).status == "pending"
    assert selectors.balance(customer) == 284
    assert_books(customer)


def test_adjust__validation_and_permission(customer, rm1, service, rm2):
    with pytest.raises(ValidationFailed) as caught:
        services.points_adjust_request(actor=rm1, customer=customer, points=0, reason="")
    assert set(caught.value.fields) == {"points", "reason"}
    with pytest.raises(PermissionDenied):
        services.points_adjust_request(actor=service, customer=customer, points=5, reason="x")
    with pytest.raises(NotFound):
        services.points_adjust_request(actor=rm2, customer=customer, points=5, reason="x")
    assert ApprovalRequest.objects.filter(action="points.adjust").count() == 0


# ------------------------------------------------------------------------ rules


def test_rule_save__audited_with_before_and_after(rm1):
    rule = services.points_rule_save(
        actor=rm1, currency="CNY", data={**RULE, "category_multipliers": {"数码": "2.50"}}
    )
    assert rule.category_multipliers == {"数码": "2.5"}
    entry = AuditEntry.objects.get(action=AuditAction.POINTS_RULE_SAVED)
    assert entry.before["category_multipliers"] == {}
    assert entry.after["category_multipliers"] == {"数码": "2.5"}


def test_rule_save__invalid_tiers_name_the_fields(rm1):
    bad = {
        **RULE,
        "tiers": [
            {"code": "base", "threshold_minor": 100, "multiplier": "1"},
            {"code": "Base", "threshold_minor": 50, "multiplier": "x"},
        ],
        "category_multipliers": {"数码": "-1"},
    }
    with pytest.raises(InvalidRule) as caught:
        services.points_rule_save(actor=rm1, currency="CNY", data=bad)
    assert set(caught.value.fields) == {
        "tiers.0.threshold_minor",
        "tiers.1.code",
        "tiers.1.threshold_minor",
        "tiers.1.multiplier",
        "category_multipliers.数码",
    }
    assert PointsRule.objects.get(currency="CNY").tiers[0]["threshold_minor"] == 0


def test_rule_save__needs_points_adjust(service):
    with pytest.raises(PermissionDenied):
        services.points_rule_save(actor=service, currency="CNY", data=RULE)
    assert not AuditEntry.objects.filter(action=AuditAction.POINTS_RULE_SAVED).exists()


def test_rule_save__thresholds_are_configurable(buy, customer, rm1):
    tiers = [dict(t) for t in RULE["tiers"]]
    tiers[1]["threshold_minor"] = 100_000
    services.points_rule_save(actor=rm1, currency="CNY", data={**RULE, "tiers": tiers})
    buy(customer, amount=100_000, days_ago=30)
    purchase = buy(customer, amount=10_000, days_ago=1)
    assert PointsLot.objects.get(purchase=purchase).points == 125


# ------------------------------------------------------------------------ history


def test_history__every_kind_newest_first(buy, give_back, customer, rm1, checker, monkeypatch):
    old = buy(customer, amount=10_000, days_ago=360)
    purchase = buy(customer, days_ago=3)
    services.points_redeem(actor=rm1, customer=customer, points=10)
    give_back(purchase, {1: 1})
    outcome = services.points_adjust_request(actor=rm1, customer=customer, points=5, reason="x")
    approval_approve(actor=checker, request_id=outcome.approval_request_id)
    monkeypatch.setattr(
        services._common, "_today", lambda: PointsLot.objects.get(purchase=old).expires_on
    )
    services.points_expire()
    rows = selectors.history(customer)
    assert [(row.kind, row.points) for row in rows] == [
        ("expire", -90),
        ("adjust", 5),
        ("reverse", -100),
        ("redeem", -10),
        ("earn", 284),
        ("earn", 100),
    ]
    assert_books(customer)
