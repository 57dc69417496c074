"""Adjustments of a customer's points through maker-checker `points.adjust`: + adds a lot,
- takes points FIFO. The executor is registered in `PointsConfig.ready()`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.approvals import services as approvals
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.points.choices import (
    ADJUST_PERMISSION,
    APPROVAL_ACTION,
    DEFAULT_EXPIRY_MONTHS,
    EventKind,
    LotSource,
    UseKind,
)
from cpms.points.errors import InsufficientPoints
from cpms.points.models import PointsLot
from cpms.points.services import _common
from cpms.points.services._common import (
    CUSTOMER_OBJECT,
    _customer_in_scope,
    _internal,
    _points_account,
    _post,
    _record_uses,
    _take,
    _whole_points,
    add_months,
    lots_with_remaining,
)
from cpms.points.services.tiers import _member_locked, active_rule

MAX_ADJUSTMENT = 10_000_000


@dataclass(frozen=True)
class AdjustmentOutcome:
    approval_request_id: int | None
    executed: bool
    result: Mapping[str, Any] | None = None


def _check_adjustment(points: Any, reason: str) -> tuple[int, str]:
    """Validate the request before anything is submitted; every wrong field at once. Returns
    (points, stripped reason)."""
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
    return points, text


def points_adjust_request(
    *, actor: Any, customer: Any, points: Any, reason: str
) -> AdjustmentOutcome:
    """Ask for an adjustment of a customer's points (+ adds a lot, - takes points FIFO) through
    maker-checker `points.adjust`; it posts when a checker approves it."""
    require_permission(actor, ADJUST_PERMISSION)
    points, text = _check_adjustment(points, reason)
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


def _adjust_add(
    actor: Any,
    customer: Customer,
    spec: dict[str, Any],
    *,
    reason: str,
    request_id: Any,
) -> tuple[Transfer, int]:
    """Post added points from issuance and create their lot (expiring after the CNY rule's
    lifetime from today). Returns (transfer, lot id)."""
    account = _points_account(customer, actor)
    transfer = _post(actor, ledger.TransferSpec(credit_account=account, **spec))
    rule = active_rule("CNY")
    today = _common._today()
    lot = PointsLot.objects.create(
        customer=customer,
        account=account,
        source=LotSource.ADJUSTMENT,
        earn_transfer=transfer,
        earned_on=today,
        expires_on=add_months(today, rule.expiry_months if rule else DEFAULT_EXPIRY_MONTHS),
        points=spec["amount"],
        basis={"approval_request": request_id, "reason": reason},
    )
    return transfer, lot.pk


def _adjust_take(
    actor: Any, customer: Customer, spec: dict[str, Any]
) -> tuple[Transfer, list[tuple[PointsLot, int]]]:
    """Take points from the customer's unexpired lots (FIFO) back to issuance; more than
    available is refused with `points.insufficient`. Returns (transfer, takes)."""
    taking = spec["amount"]
    rows = lots_with_remaining(customer.pk, usable_on=_common._today())
    available = sum(left for _lot, left in rows)
    if taking > available:
        raise InsufficientPoints(
            _("Only %(available)d points are available; the adjustment takes %(points)d.")
            % {"available": available, "points": taking},
            fields={
                "points": _("At most %(available)d points can be taken.") % {"available": available}
            },
        )
    takes = _take(rows, taking)
    transfer = _post(actor, ledger.TransferSpec(debit_account=takes[0][0].account, **spec))
    _record_uses(takes, transfer, UseKind.ADJUST)
    return transfer, takes


def _apply_adjustment(
    actor: Any, customer: Customer, points: int, reason: str, *, key: str, request_id: Any = None
) -> dict[str, Any]:
    """Post an adjustment (once per key: a replay returns the first transfer) and audit it."""
    replay = Transfer.objects.filter(idempotency_key=key).first()
    if replay is not None:
        return {"transfer_id": replay.pk, "points": points, "replayed": True}
    member = _member_locked(customer, create=True)
    assert member is not None
    issuance: Account = _internal(AccountPurpose.POINTS_ISSUANCE, actor)
    spec: dict[str, Any] = {
        "amount": abs(points),
        "reference": "Points adjustment",
        "metadata": {"points_event": EventKind.ADJUST, "approval_request": request_id},
        "idempotency_key": key,
    }
    lot_id = None
    takes: list[tuple[PointsLot, int]] = []
    if points > 0:
        transfer, lot_id = _adjust_add(
            actor,
            customer,
            {**spec, "debit_account": issuance},
            reason=reason,
            request_id=request_id,
        )
    else:
        transfer, takes = _adjust_take(actor, customer, {**spec, "credit_account": issuance})
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
    """The inbox line of a `points.adjust` request."""
    points = payload.get("points", 0)
    return _("Adjust the points of customer #%(customer)s by %(points)s: %(reason)s") % {
        "customer": payload.get("customer_id", "?"),
        "points": f"{points:+d}" if isinstance(points, int) else points,
        "reason": payload.get("reason", ""),
    }
