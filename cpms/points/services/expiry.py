"""Expiry: the remainder of a lot whose expiry date has come moves to points breakage."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Transfer
from cpms.points.choices import ADJUST_PERMISSION, EventKind, UseKind
from cpms.points.models import PointsLot
from cpms.points.services import _common
from cpms.points.services._common import LOT_OBJECT, _internal, _post, _record_uses
from cpms.points.services.tiers import _member_locked


def points_expire(*, actor: Any = None, as_of: datetime.date | None = None) -> int:
    """Move the remainder of every lot expiring on or before `as_of` (default today, never
    later than today) to points breakage: one transfer per lot, idempotency key
    `points:expire:lot:<id>`, one audit entry per lot. The scheduled job runs it daily with no
    actor; a person running it needs `points.adjust`. Returns how many lots expired."""
    if actor is not None:
        require_permission(actor, ADJUST_PERMISSION)
    today = _common._today()
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
        if _lot_expire(actor, pk, as_of=as_of):
            expired += 1
    return expired


def _lot_expire(actor: Any, pk: int, *, as_of: datetime.date) -> bool:
    """Expire one lot in its own transaction (a failure leaves the others expired). Re-reads
    the remainder under the member lock; a lot used up meanwhile or already expired (its
    transfer exists) is skipped. True when the lot expired now."""
    with transaction.atomic():
        lot = PointsLot.objects.select_related("account").get(pk=pk)
        _member_locked(lot.customer, create=True)
        used = lot.uses.aggregate(total=Coalesce(Sum("points"), 0))["total"]
        remaining = lot.points - used
        key = f"points:expire:lot:{lot.pk}"
        if remaining <= 0 or Transfer.objects.filter(idempotency_key=key).exists():
            return False
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
    return True
