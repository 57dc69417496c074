"""Every write of loyalty points: earning on a purchase, reversal on a return, redemption,
expiry, adjustments through maker-checker, earn rules and tiers.

Accounting (asset PTS, whole points): earning and positive adjustments debit the internal
`points_issuance` account (debit-normal: points outstanding) and credit the customer's
`customer_points` account (credit-normal, never negative). Redemptions, return reversals and
negative adjustments post the other way. Expiry moves a lot's remainder from the customer to
`points_breakage` (credit-normal). Every posting is one ledger transfer with a deterministic
idempotency key; its metadata names the event (`points_event`) for the history.

Lots: every earn or positive adjustment creates a `PointsLot`; anything taking points out of
the customer's account writes `PointsLotUse` rows (FIFO by expiry, earliest first), so the
customer's balance always equals the sum of the remainders of their lots. Writes for one
customer are serialised by locking their `PointsMember` row."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from math import floor
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.approvals import services as approvals
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import IdempotencyConflict
from cpms.ledger.models import Account, Transfer
from cpms.points.choices import (
    ADJUST_PERMISSION,
    APPROVAL_ACTION,
    ASSET,
    DEFAULT_EXPIRY_MONTHS,
    REDEEM_PERMISSION,
    EventKind,
    LotSource,
    UseKind,
)
from cpms.points.errors import InsufficientPoints, InvalidRule
from cpms.points.models import (
    PointsLot,
    PointsLotUse,
    PointsMember,
    PointsRule,
    PointsShortfall,
)

CUSTOMER_OBJECT = "points.customer"
LOT_OBJECT = "points.lot"
RULE_OBJECT = "points.rule"
SPEND_WINDOW = datetime.timedelta(days=365)
MAX_ADJUSTMENT = 10_000_000
_CLIENT_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")
_TIER_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Redemption:
    transfer: Transfer
    points: int
    uses: list[tuple[int, int]] = field(default_factory=list)  # (lot id, points)
    replayed: bool = False


@dataclass(frozen=True)
class AdjustmentOutcome:
    approval_request_id: int | None
    executed: bool
    result: Mapping[str, Any] | None = None


# ------------------------------------------------------------------------ small helpers


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus whole months; the 29th-31st fall back to the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last = (following - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def _today() -> datetime.date:
    """Today's local date (one place, so tests can move the clock)."""
    return timezone.localdate()


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _multiplier(value: Any) -> Fraction:
    return Fraction(Decimal(str(value)))


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
    from cpms.retail.models import Purchase, PurchaseReturn

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


def _customer_in_scope(actor: Any, customer: Any, permission: str) -> Customer:
    pk = getattr(customer, "pk", customer)
    found = None
    try:
        found = (
            scoped(Customer.objects.all(), user=actor, permission=permission)
            .filter(pk=int(pk))
            .first()
        )
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(_("No customer has this id."), fields={"customer_id": str(pk)})
    return found


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


def _points_account(customer: Customer, actor: Any) -> Account:
    """The customer's points account, opened on first use and linked to their active loyalty
    membership (a property item of kind `membership`) when they have one."""
    existing = (
        Account.objects.select_related("asset")
        .filter(customer=customer, purpose=AccountPurpose.CUSTOMER_POINTS, asset__code=ASSET)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing
    from cpms.holdings.choices import HoldingKind, HoldingStatus
    from cpms.holdings.models import Holding

    holding = (
        Holding.objects.filter(
            customer=customer, kind=HoldingKind.MEMBERSHIP, status=HoldingStatus.ACTIVE
        )
        .order_by("pk")
        .first()
    )
    return ledger.customer_account(
        customer=customer,
        purpose=AccountPurpose.CUSTOMER_POINTS,
        asset_code=ASSET,
        holding=holding,
        actor=actor,
    )


def _internal(purpose: str, actor: Any) -> Account:
    return ledger.internal_account(asset_code=ASSET, purpose=purpose, actor=actor)


def lots_with_remaining(
    customer_id: int, *, usable_on: datetime.date | None = None
) -> list[tuple[PointsLot, int]]:
    """The customer's lots with points left, in consumption order (earliest expiry first, then
    earliest earned, then oldest row). With `usable_on`, only lots not expired on that day."""
    lots = (
        PointsLot.objects.filter(customer_id=customer_id)
        .annotate(used=Coalesce(Sum("uses__points"), 0))
        .order_by("expires_on", "earned_on", "pk")
    )
    if usable_on is not None:
        lots = lots.filter(expires_on__gt=usable_on)
    return [(lot, lot.points - lot.used) for lot in lots if lot.points > lot.used]


def _take(rows: Sequence[tuple[PointsLot, int]], points: int) -> list[tuple[PointsLot, int]]:
    """Take up to `points` from the rows in order; [(lot, taken)]."""
    takes: list[tuple[PointsLot, int]] = []
    left = points
    for lot, remaining in rows:
        if left <= 0:
            break
        taken = min(left, remaining)
        if taken > 0:
            takes.append((lot, taken))
            left -= taken
    return takes


def _post(actor: Any, spec: ledger.TransferSpec) -> Transfer:
    return ledger.post_internal(actor=actor, specs=[spec]).transfers[0]


def _record_uses(takes: Sequence[tuple[PointsLot, int]], transfer: Transfer, kind: str) -> None:
    PointsLotUse.objects.bulk_create(
        PointsLotUse(lot=lot, transfer=transfer, kind=kind, points=points) for lot, points in takes
    )


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


def _now_after(moment: datetime.datetime) -> datetime.datetime:
    """A point just after both now and `moment` (a purchase may be stamped a little ahead)."""
    return max(timezone.now(), moment) + datetime.timedelta(seconds=1)


# ------------------------------------------------------------------------ earning


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
    """Earn points for a recorded purchase (called by the retail seam inside the purchase's
    transaction; the purchase's own permission check covers it). No active rule for the
    purchase's currency or fewer than one point earns nothing. A second call for the same
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


# ------------------------------------------------------------------------ return reversal


def _returned_exact(purchase_id: int, lines: Mapping[str, Fraction], *, through: int) -> Fraction:
    """Exact points carried by every unit returned from the purchase by returns with id <=
    `through`: each returned line's share of the line's exact points by value."""
    from cpms.retail.models import PurchaseReturnLine

    total = Fraction(0)
    rows = PurchaseReturnLine.objects.filter(
        purchase_return__purchase_id=purchase_id, purchase_return_id__lte=through
    ).select_related("line")
    for row in rows:
        line_exact = lines.get(str(row.line_id))
        if line_exact is None or row.line.amount_minor <= 0:
            continue
        total += line_exact * row.value_minor / row.line.amount_minor
    return total


def points_reverse_for_return(*, actor: Any, purchase_return: Any) -> dict[str, int] | None:
    """Take back the points the returned units earned (called by the retail seam inside the
    return's transaction). Points due = floor(exact points of everything returned so far) -
    floor(exact points of what was returned before), so the reversals of a fully returned
    purchase add up to its points exactly. Taken from the purchase's own lot first, then from
    the customer's other unexpired lots (FIFO); what the customer has already spent is not
    taken (the balance cannot go negative, and a return is never blocked): it is recorded as a
    `PointsShortfall` and in the audit entry. Replays post nothing."""
    with transaction.atomic():
        lot = PointsLot.objects.filter(purchase_id=purchase_return.purchase_id).first()
        key = f"points:reverse:return:{purchase_return.pk}"
        member = PointsMember.objects.filter(customer_id=purchase_return.purchase.customer_id)
        if lot is None:
            found = member.select_for_update().first()
            if found is not None:
                _refresh_tier(actor, found, as_of=_now_after(purchase_return.returned_at))
            return None
        if (
            Transfer.objects.filter(idempotency_key=key).exists()
            or PointsShortfall.objects.filter(purchase_return_id=purchase_return.pk).exists()
        ):
            return None
        customer = lot.customer
        locked = _member_locked(customer, create=True)
        lines = {key_: Fraction(value) for key_, value in lot.basis.get("lines", {}).items()}
        after = floor(_returned_exact(lot.purchase_id, lines, through=purchase_return.pk))
        before = floor(_returned_exact(lot.purchase_id, lines, through=purchase_return.pk - 1))
        due = min(after, lot.points) - min(before, lot.points)
        outcome = {"points_due": due, "points_reversed": 0, "shortfall": 0}
        if due > 0:
            outcome = _reverse(actor, purchase_return, lot, customer, due, key)
        _refresh_tier(actor, locked, as_of=_now_after(purchase_return.returned_at))
    return outcome


def _reverse(
    actor: Any, purchase_return: Any, lot: PointsLot, customer: Customer, due: int, key: str
) -> dict[str, int]:
    rows = lots_with_remaining(customer.pk)
    own = [(row, left) for row, left in rows if row.pk == lot.pk]
    today = _today()
    others = [(row, left) for row, left in rows if row.pk != lot.pk and row.expires_on > today]
    takes = _take(own + others, due)
    taken = sum(points for _lot, points in takes)
    transfer = None
    if taken > 0:
        transfer = _post(
            actor,
            ledger.TransferSpec(
                debit_account=lot.account,
                credit_account=_internal(AccountPurpose.POINTS_ISSUANCE, actor),
                amount=taken,
                reference=f"Points reversed {lot.purchase.reference}"[:140],
                metadata={
                    "points_event": EventKind.REVERSE,
                    "purchase": lot.purchase_id,
                    "return": purchase_return.pk,
                },
                idempotency_key=key,
            ),
        )
        _record_uses(takes, transfer, UseKind.REVERSE)
    shortfall = due - taken
    if shortfall > 0:
        PointsShortfall.objects.create(
            customer=customer,
            purchase_return_id=purchase_return.pk,
            points_due=due,
            points_reversed=taken,
            points=shortfall,
        )
    audit_record(
        actor=actor,
        action=AuditAction.POINTS_REVERSED,
        object_type=CUSTOMER_OBJECT,
        object_id=customer.pk,
        after={
            "purchase_id": lot.purchase_id,
            "return_id": purchase_return.pk,
            "points_due": due,
            "points_reversed": taken,
            "shortfall": shortfall,
            "transfer_id": transfer.pk if transfer else None,
            "lots": [[row.pk, points] for row, points in takes],
        },
    )
    return {"points_due": due, "points_reversed": taken, "shortfall": shortfall}


# ------------------------------------------------------------------------ redemption


def _whole_points(value: Any, field_name: str = "points") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(fields={field_name: _("Give a whole number of points.")})
    return value


def points_redeem(
    *,
    actor: Any,
    customer: Any,
    points: Any,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Redemption:
    """Redeem `points` of the customer's unexpired points, consuming lots earliest-expiring
    first. More than available is refused with `points.insufficient` and nothing changes. With
    `idempotency_key` (1-40 of A-Z a-z 0-9 . _ : -) a retry returns the first redemption."""
    require_permission(actor, REDEEM_PERMISSION)
    points = _whole_points(points)
    problems: dict[str, str] = {}
    if points <= 0:
        problems["points"] = _("Redeem at least 1 point.")
    reference = (reference or "").strip()
    if len(reference) > 120:
        problems["reference"] = _("At most 120 characters.")
    if idempotency_key is not None and not _CLIENT_KEY.match(idempotency_key):
        problems["idempotency_key"] = _("Use 1 to 40 of A-Z, a-z, 0-9, '.', '_', ':', '-'.")
    if problems:
        raise ValidationFailed(_("Check the highlighted fields."), fields=problems)
    with transaction.atomic():
        customer = _customer_in_scope(actor, customer, REDEEM_PERMISSION)
        key = (
            f"points:redeem:{customer.pk}:{idempotency_key}"
            if idempotency_key
            else f"points:redeem:{customer.pk}:{uuid.uuid4().hex}"
        )
        replay = Transfer.objects.filter(idempotency_key=key).first()
        if replay is not None:
            if replay.amount != points:
                raise IdempotencyConflict(fields={"idempotency_key": idempotency_key})
            uses = list(
                PointsLotUse.objects.filter(transfer=replay)
                .order_by("pk")
                .values_list("lot_id", "points")
            )
            return Redemption(transfer=replay, points=points, uses=uses, replayed=True)
        member = _member_locked(customer, create=False)
        rows = lots_with_remaining(customer.pk, usable_on=_today()) if member else []
        available = sum(left for _lot, left in rows)
        if points > available:
            raise InsufficientPoints(
                _("Only %(available)d points are available; %(points)d were asked for.")
                % {"available": available, "points": points},
                fields={
                    "points": _("At most %(available)d points can be redeemed.")
                    % {"available": available}
                },
            )
        takes = _take(rows, points)
        account = takes[0][0].account
        transfer = _post(
            actor,
            ledger.TransferSpec(
                debit_account=account,
                credit_account=_internal(AccountPurpose.POINTS_ISSUANCE, actor),
                amount=points,
                reference=(reference or "Points redeemed")[:140],
                metadata={"points_event": EventKind.REDEEM, "reference": reference},
                idempotency_key=key,
            ),
        )
        _record_uses(takes, transfer, UseKind.REDEEM)
        uses = [(lot.pk, taken) for lot, taken in takes]
        audit_record(
            actor=actor,
            action=AuditAction.POINTS_REDEEMED,
            object_type=CUSTOMER_OBJECT,
            object_id=customer.pk,
            after={
                "points": points,
                "reference": reference,
                "transfer_id": transfer.pk,
                "lots": [list(use) for use in uses],
            },
        )
    return Redemption(transfer=transfer, points=points, uses=uses)


# ------------------------------------------------------------------------ expiry


def points_expire(*, actor: Any = None, as_of: datetime.date | None = None) -> int:
    """Move the remainder of every lot expiring on or before `as_of` (default today, never
    later than today) to points breakage: one transfer per lot, idempotency key
    `points:expire:lot:<id>`, one audit entry per lot. The scheduled job runs it daily with no
    actor; a person running it needs `points.adjust`. Returns how many lots expired."""
    if actor is not None:
        require_permission(actor, ADJUST_PERMISSION)
    today = _today()
    as_of = as_of or today
    if as_of > today:
        raise ValidationFailed(fields={"as_of": _("Points cannot be expired ahead of time.")})
    candidates = [
        lot.pk
        for lot in PointsLot.objects.filter(expires_on__lte=as_of)
        .annotate(used=Coalesce(Sum("uses__points"), 0))
        .order_by("expires_on", "pk")
        if lot.points > lot.used
    ]
    expired = 0
    for pk in candidates:
        with transaction.atomic():
            lot = PointsLot.objects.select_related("account").get(pk=pk)
            _member_locked(lot.customer, create=True)
            used = lot.uses.aggregate(total=Coalesce(Sum("points"), 0))["total"]
            remaining = lot.points - used
            key = f"points:expire:lot:{lot.pk}"
            if remaining <= 0 or Transfer.objects.filter(idempotency_key=key).exists():
                continue
            transfer = _post(
                actor,
                ledger.TransferSpec(
                    debit_account=lot.account,
                    credit_account=_internal(AccountPurpose.POINTS_BREAKAGE, actor),
                    amount=remaining,
                    reference=f"Points expired (lot {lot.pk})",
                    metadata={"points_event": EventKind.EXPIRE, "lot": lot.pk},
                    idempotency_key=key,
                ),
            )
            _record_uses([(lot, remaining)], transfer, UseKind.EXPIRE)
            audit_record(
                actor=actor,
                action=AuditAction.POINTS_EXPIRED,
                object_type=LOT_OBJECT,
                object_id=lot.pk,
                after={
                    "customer_id": lot.customer_id,
                    "points": remaining,
                    "expires_on": lot.expires_on.isoformat(),
                    "as_of": as_of.isoformat(),
                    "transfer_id": transfer.pk,
                },
            )
            expired += 1
    return expired


# ------------------------------------------------------------------------ adjustments


def points_adjust_request(
    *, actor: Any, customer: Any, points: Any, reason: str
) -> AdjustmentOutcome:
    """Ask for an adjustment of a customer's points (+ adds a lot, - takes points FIFO) through
    maker-checker `points.adjust`; it posts when a checker approves it."""
    require_permission(actor, ADJUST_PERMISSION)
    points = _whole_points(points)
    problems: dict[str, str] = {}
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        problems["points"] = _(
            "Give a number of points other than 0, at most %(max)d either way."
        ) % {"max": MAX_ADJUSTMENT}
    text = (reason or "").strip()
    if not text:
        problems["reason"] = _("Say why the points are adjusted.")
    elif len(text) > 500:
        problems["reason"] = _("At most 500 characters.")
    if problems:
        raise ValidationFailed(_("Check the highlighted fields."), fields=problems)
    with transaction.atomic():
        customer = _customer_in_scope(actor, customer, ADJUST_PERMISSION)
        payload = {"customer_id": customer.pk, "points": points, "reason": text}
        submission = approvals.approval_submit(
            actor=actor,
            action=APPROVAL_ACTION,
            payload=payload,
            object_type=CUSTOMER_OBJECT,
            object_id=customer.pk,
            reason=text,
        )
        request_id = submission.request.pk if submission.request else None
        audit_record(
            actor=actor,
            action=AuditAction.POINTS_ADJUSTMENT_REQUESTED,
            object_type=CUSTOMER_OBJECT,
            object_id=customer.pk,
            after={**payload, "approval_request_id": request_id},
        )
        if submission.required:
            return AdjustmentOutcome(approval_request_id=request_id, executed=False)
        result = _apply_adjustment(
            actor, customer, points, text, key=f"points:adjust:direct:{uuid.uuid4().hex}"
        )
    return AdjustmentOutcome(approval_request_id=None, executed=True, result=result)


def _apply_adjustment(
    actor: Any, customer: Customer, points: int, reason: str, *, key: str, request_id: Any = None
) -> dict[str, Any]:
    replay = Transfer.objects.filter(idempotency_key=key).first()
    if replay is not None:
        return {"transfer_id": replay.pk, "points": points, "replayed": True}
    member = _member_locked(customer, create=True)
    assert member is not None
    issuance = _internal(AccountPurpose.POINTS_ISSUANCE, actor)
    metadata = {"points_event": EventKind.ADJUST, "approval_request": request_id}
    lot_id = None
    takes: list[tuple[PointsLot, int]] = []
    if points > 0:
        account = _points_account(customer, actor)
        transfer = _post(
            actor,
            ledger.TransferSpec(
                debit_account=issuance,
                credit_account=account,
                amount=points,
                reference="Points adjustment",
                metadata=metadata,
                idempotency_key=key,
            ),
        )
        rule = active_rule("CNY")
        today = _today()
        lot = PointsLot.objects.create(
            customer=customer,
            account=account,
            source=LotSource.ADJUSTMENT,
            earn_transfer=transfer,
            earned_on=today,
            expires_on=add_months(today, rule.expiry_months if rule else DEFAULT_EXPIRY_MONTHS),
            points=points,
            basis={"approval_request": request_id, "reason": reason},
        )
        lot_id = lot.pk
    else:
        rows = lots_with_remaining(customer.pk, usable_on=_today())
        available = sum(left for _lot, left in rows)
        if -points > available:
            raise InsufficientPoints(
                _("Only %(available)d points are available; the adjustment takes %(points)d.")
                % {"available": available, "points": -points},
                fields={
                    "points": _("At most %(available)d points can be taken.")
                    % {"available": available}
                },
            )
        takes = _take(rows, -points)
        transfer = _post(
            actor,
            ledger.TransferSpec(
                debit_account=takes[0][0].account,
                credit_account=issuance,
                amount=-points,
                reference="Points adjustment",
                metadata=metadata,
                idempotency_key=key,
            ),
        )
        _record_uses(takes, transfer, UseKind.ADJUST)
    result = {
        "customer_id": customer.pk,
        "points": points,
        "transfer_id": transfer.pk,
        "lot_id": lot_id,
        "lots": [[lot.pk, taken] for lot, taken in takes],
    }
    audit_record(
        actor=actor,
        action=AuditAction.POINTS_ADJUSTED,
        object_type=CUSTOMER_OBJECT,
        object_id=customer.pk,
        after={**result, "approval_request_id": request_id},
        reason=reason,
    )
    return result


def execute_adjustment(*, request: Any, actor: Any) -> dict[str, Any]:
    """Approval executor of `points.adjust` (runs in the final approval's transaction)."""
    payload = request.payload or {}
    customer = Customer.objects.filter(pk=payload.get("customer_id")).first()
    if customer is None:
        raise NotFound(fields={"customer_id": str(payload.get("customer_id"))})
    return _apply_adjustment(
        actor,
        customer,
        int(payload["points"]),
        str(payload.get("reason", "")),
        key=f"points:adjust:request:{request.pk}",
        request_id=request.pk,
    )


def describe_adjustment(payload: Mapping[str, Any]) -> str:
    points = payload.get("points", 0)
    return _("Adjust the points of customer #%(customer)s by %(points)s: %(reason)s") % {
        "customer": payload.get("customer_id", "?"),
        "points": f"{points:+d}" if isinstance(points, int) else points,
        "reason": payload.get("reason", ""),
    }


# ------------------------------------------------------------------------ rules


def rule_snapshot(rule: PointsRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "currency": rule.currency,
        "points_per_unit": rule.points_per_unit,
        "unit_minor": rule.unit_minor,
        "category_multipliers": dict(rule.category_multipliers or {}),
        "tiers": list(rule.tiers or []),
        "expiry_months": rule.expiry_months,
        "active": rule.active,
    }


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _int_in(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _clean_multiplier(value: Any) -> str | None:
    number = _decimal(value)
    if number is None or number < 0 or number > 100 or number.as_tuple().exponent < -4:
        return None
    return format(number.normalize(), "f")


def _clean_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 120:
        problems["name"] = _("Give a name of at most 120 characters.")
    clean["name"] = name
    for key, low, high in (
        ("points_per_unit", 1, 1_000_000),
        ("unit_minor", 1, 1_000_000_000),
        ("expiry_months", 1, 120),
    ):
        number = _int_in(data.get(key), low, high)
        if number is None:
            problems[key] = _("Give a whole number from %(low)d to %(high)d.") % {
                "low": low,
                "high": high,
            }
        clean[key] = number
    categories = data.get("category_multipliers") or {}
    clean["category_multipliers"] = {}
    if not isinstance(categories, Mapping):
        problems["category_multipliers"] = _("Give category: multiplier pairs.")
    else:
        for category, value in categories.items():
            label = str(category).strip()
            multiplier = _clean_multiplier(value)
            if not label or len(label) > 60:
                problems[f"category_multipliers.{category}"] = _(
                    "A category is 1 to 60 characters."
                )
            elif multiplier is None:
                problems[f"category_multipliers.{label}"] = _(
                    "The multiplier must be a decimal from 0 to 100 (at most 4 decimals)."
                )
            else:
                clean["category_multipliers"][label] = multiplier
    tiers = data.get("tiers")
    clean["tiers"] = []
    if not isinstance(tiers, Sequence) or isinstance(tiers, str) or not tiers:
        problems["tiers"] = _("Give at least one tier.")
    else:
        seen: set[str] = set()
        last = -1
        for index, tier in enumerate(tiers):
            if not isinstance(tier, Mapping):
                problems[f"tiers.{index}"] = _(
                    "Each tier has a code, name, threshold and multiplier."
                )
                continue
            code = str(tier.get("code") or "").strip()
            threshold = _int_in(tier.get("threshold_minor"), 0, 10**15)
            multiplier = _clean_multiplier(tier.get("multiplier"))
            if not _TIER_CODE.match(code) or code in seen:
                problems[f"tiers.{index}.code"] = _(
                    "A unique code of lower-case letters, digits, '_' or '-' (at most 32)."
                )
            if threshold is None:
                problems[f"tiers.{index}.threshold_minor"] = _(
                    "Give the spend threshold in minor units (0 or more)."
                )
            elif index == 0 and threshold != 0:
                problems[f"tiers.{index}.threshold_minor"] = _("The first tier starts at 0.")
            elif threshold <= last:
                problems[f"tiers.{index}.threshold_minor"] = _(
                    "Thresholds must rise from one tier to the next."
                )
            if multiplier is None:
                problems[f"tiers.{index}.multiplier"] = _(
                    "The multiplier must be a decimal from 0 to 100 (at most 4 decimals)."
                )
            seen.add(code)
            last = threshold if threshold is not None else last
            clean["tiers"].append(
                {
                    "code": code,
                    "name": str(tier.get("name") or code).strip()[:60],
                    "threshold_minor": threshold,
                    "multiplier": multiplier,
                }
            )
    clean["active"] = bool(data.get("active", True))
    if problems:
        raise InvalidRule(_("Check the highlighted fields."), fields=problems)
    return clean


def points_rule_save(*, actor: Any, currency: str, data: Mapping[str, Any]) -> PointsRule:
    """Create or change the earn rule of `currency` (`points.adjust`). Changes apply to
    purchases recorded afterwards; lots keep the basis they were earned on."""
    require_permission(actor, ADJUST_PERMISSION)
    code = (currency or "").strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidRule(fields={"currency": _("Give a three-letter ISO 4217 currency code.")})
    clean = _clean_rule(data)
    with transaction.atomic():
        rule = PointsRule.objects.select_for_update().filter(currency=code).first()
        before = rule_snapshot(rule) if rule else None
        if rule is None:
            rule = PointsRule(currency=code)
        for name, value in clean.items():
            setattr(rule, name, value)
        rule.updated_at = timezone.now()
        rule.updated_by = actor
        rule.save()
        audit_record(
            actor=actor,
            action=AuditAction.POINTS_RULE_SAVED,
            object_type=RULE_OBJECT,
            object_id=rule.pk,
            before=before,
            after=rule_snapshot(rule),
        )
    return rule
