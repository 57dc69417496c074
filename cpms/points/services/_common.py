"""Helpers shared by the points services: object types for the audit trail, the clock, the
customer's scope and member row, the ledger accounts and postings, and lot consumption.

The clock is `_today()`, looked up here at call time by every sub-module (`_common._today()`),
so a test moves it in one place: `monkeypatch.setattr(_common, "_today", ...)`."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.scopes import scoped
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import Holding
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.points.choices import ASSET
from cpms.points.models import PointsLot, PointsLotUse

CUSTOMER_OBJECT = "points.customer"
LOT_OBJECT = "points.lot"
RULE_OBJECT = "points.rule"


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


def _now_after(moment: datetime.datetime) -> datetime.datetime:
    """A point just after both now and `moment` (a purchase may be stamped a little ahead)."""
    return max(timezone.now(), moment) + datetime.timedelta(seconds=1)


def _whole_points(value: Any, field_name: str = "points") -> int:
    """Points are whole numbers: a bool or a float/str is refused, not coerced."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(fields={field_name: _("Give a whole number of points.")})
    return value


def _customer_in_scope(actor: Any, customer: Any, permission: str) -> Customer:
    """The customer (object or id) if the actor may act on it with `permission`; missing and
    out of scope answer the same NotFound."""
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
    """The ledger's internal points account for `purpose` (issuance or breakage)."""
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
    """Post one transfer through the ledger's services, inside the caller's transaction."""
    return ledger.post_internal(actor=actor, specs=[spec]).transfers[0]


def _record_uses(takes: Sequence[tuple[PointsLot, int]], transfer: Transfer, kind: str) -> None:
    """Record which lots a transfer took its points from (keeps balance = sum of remainders)."""
    PointsLotUse.objects.bulk_create(
        PointsLotUse(lot=lot, transfer=transfer, kind=kind, points=points) for lot, points in takes
    )
