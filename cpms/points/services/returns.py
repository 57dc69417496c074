"""Taking back the points of returned units (run by retail's return hook, registered in
`PointsConfig.ready()`, inside the return's transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from math import floor
from typing import Any

from django.db import transaction

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.customers.models import Customer
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Transfer
from cpms.points.choices import EventKind, UseKind
from cpms.points.models import PointsLot, PointsMember, PointsShortfall
from cpms.points.services import _common
from cpms.points.services._common import (
    CUSTOMER_OBJECT,
    _internal,
    _now_after,
    _post,
    _record_uses,
    _take,
    lots_with_remaining,
)
from cpms.points.services.tiers import _member_locked, _refresh_tier
from cpms.retail.models import PurchaseReturnLine


def _returned_exact(purchase_id: int, lines: Mapping[str, Fraction], *, through: int) -> Fraction:
    """Exact points carried by every unit returned from the purchase by returns with id <=
    `through`: each returned line's share of the line's exact points by value."""
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
    """Take back the points the returned units earned (called by the retail return hook inside
    the return's transaction). Points due = floor(exact points of everything returned so far) -
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
    """Take `due` points (own lot first, then other unexpired lots), record any shortfall and
    audit the reversal."""
    rows = lots_with_remaining(customer.pk)
    own = [(row, left) for row, left in rows if row.pk == lot.pk]
    today = _common._today()
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
