"""Redeeming points: unexpired lots are consumed earliest-expiring first; a client key makes a
retry return the first redemption."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.models import Customer
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import IdempotencyConflict
from cpms.ledger.models import Transfer
from cpms.points.choices import REDEEM_PERMISSION, EventKind, UseKind
from cpms.points.errors import InsufficientPoints
from cpms.points.models import PointsLot, PointsLotUse
from cpms.points.services import _common
from cpms.points.services._common import (
    CUSTOMER_OBJECT,
    _customer_in_scope,
    _internal,
    _post,
    _record_uses,
    _take,
    _whole_points,
    lots_with_remaining,
)
from cpms.points.services.tiers import _member_locked

_CLIENT_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")


@dataclass(frozen=True)
class Redemption:
    transfer: Transfer
    points: int
    uses: list[tuple[int, int]] = field(default_factory=list)  # (lot id, points)
    replayed: bool = False


def _check_redemption(points: Any, reference: str, idempotency_key: str | None) -> tuple[int, str]:
    """Validate the request before anything is locked; every wrong field at once. Returns
    (points, stripped reference)."""
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
    return points, reference


def _redemption_replay(key: str, points: int, idempotency_key: str | None) -> Redemption | None:
    """The first redemption under the same key (a retry), or None. The same key for a
    different number of points is a conflict."""
    replay = Transfer.objects.filter(idempotency_key=key).first()
    if replay is None:
        return None
    if replay.amount != points:
        raise IdempotencyConflict(fields={"idempotency_key": idempotency_key})
    uses = list(
        PointsLotUse.objects.filter(transfer=replay).order_by("pk").values_list("lot_id", "points")
    )
    return Redemption(transfer=replay, points=points, uses=uses, replayed=True)


def _redeemable_takes(customer: Customer, points: int) -> list[tuple[PointsLot, int]]:
    """Lock the customer's member row and pick the lots to take `points` from; more than the
    unexpired points available is refused with `points.insufficient`."""
    member = _member_locked(customer, create=False)
    rows = lots_with_remaining(customer.pk, usable_on=_common._today()) if member else []
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
    return _take(rows, points)


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
    points, reference = _check_redemption(points, reference, idempotency_key)
    with transaction.atomic():
        customer = _customer_in_scope(actor, customer, REDEEM_PERMISSION)
        key = (
            f"points:redeem:{customer.pk}:{idempotency_key}"
            if idempotency_key
            else f"points:redeem:{customer.pk}:{uuid.uuid4().hex}"
        )
        replay = _redemption_replay(key, points, idempotency_key)
        if replay is not None:
            return replay
        takes = _redeemable_takes(customer, points)
        transfer = _post(
            actor,
            ledger.TransferSpec(
                debit_account=takes[0][0].account,
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
