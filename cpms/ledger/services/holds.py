"""Holds: posting or voiding a pending transfer, the expiry job, and the maker-checker side of
transfers held for approval (the executor posts the hold, the closer voids it)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import assets, engine
from cpms.ledger.choices import TransferKind
from cpms.ledger.errors import NotPending, TransferNotFound
from cpms.ledger.models import POST_PERMISSION, Transfer
from cpms.ledger.services._shared import (
    TRANSFER_OBJECT,
    accounts_of,
    locked_transfer,
    transfer_snapshot,
)

# holds voided per run of the expiry job (the next run takes the rest)
EXPIRY_BATCH = 5000


def _resolve_hold(actor: Any, transfer: Transfer, *, post_it: bool, reason: str) -> Transfer:
    """Post or void the hold through the engine and record HOLD_POSTED / HOLD_VOIDED."""
    resolution = engine.resolve(transfer, post_it=post_it, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.HOLD_POSTED if post_it else AuditAction.HOLD_VOIDED,
        object_type=TRANSFER_OBJECT,
        object_id=transfer.pk,
        before={"state": "pending"},
        after=transfer_snapshot(resolution, accounts_of(transfer)),
        reason=reason,
    )
    return resolution


def hold_post(*, actor: Any, transfer_id: Any, reason: str = "") -> Transfer:
    """Post a hold that is not waiting for approval (a hold awaiting approval posts only
    through the approval)."""
    require_permission(actor, POST_PERMISSION)
    with transaction.atomic():
        transfer = locked_transfer(actor, transfer_id)
        if transfer.approval_request_id is not None:
            raise NotPending(
                _("This hold awaits approval; it posts when the request is approved."),
                fields={"transfer": str(transfer.pk)},
            )
        return _resolve_hold(actor, transfer, post_it=True, reason=reason)


def hold_void(*, actor: Any, transfer_id: Any, reason: str) -> Transfer:
    """Release a hold without posting it (reason required)."""
    require_permission(actor, POST_PERMISSION)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    with transaction.atomic():
        transfer = locked_transfer(actor, transfer_id)
        if transfer.approval_request_id is not None:
            raise NotPending(
                _("This hold awaits approval; reject or cancel the request instead."),
                fields={"transfer": str(transfer.pk)},
            )
        return _resolve_hold(actor, transfer, post_it=False, reason=reason.strip())


def holds_expire(*, actor: Any = None, now: datetime.datetime | None = None) -> int:
    """Void every hold past its expiry that is not owned by an approval request (those lapse
    with their request). One audit entry per voided hold. Returns how many were voided."""
    now = now or timezone.now()
    candidates = list(
        Transfer.objects.filter(
            kind=TransferKind.PENDING,
            expires_at__lte=now,
            approval_request__isnull=True,
            resolution__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:EXPIRY_BATCH]
    )
    voided = 0
    for pk in candidates:
        with transaction.atomic():
            transfer = locked_transfer(None, pk)
            try:
                _resolve_hold(actor, transfer, post_it=False, reason="expired")
            except NotPending:
                continue
            voided += 1
    return voided


# ------------------------------------------------------------------------ maker-checker


def _approved_transfer(request: Any) -> Transfer:
    transfer = (
        Transfer.objects.select_related("debit_account__asset", "credit_account__asset")
        .filter(approval_request=request, kind=TransferKind.PENDING)
        .first()
    )
    if transfer is None:
        raise TransferNotFound(fields={"approval_request": str(request.pk)})
    return transfer


def execute_approved_transfer(*, request: Any, actor: Any) -> dict[str, Any]:
    """Approval executor: post the hold (runs in the final approval's transaction)."""
    transfer = _approved_transfer(request)
    resolution = _resolve_hold(actor, transfer, post_it=True, reason=_("approved"))
    return {"transfer_id": transfer.pk, "posted_id": resolution.pk}


def release_refused_transfer(*, request: Any, actor: Any, status: str) -> None:
    """Approval closer: a rejected, cancelled or expired request voids its hold."""
    transfer = _approved_transfer(request)
    if Transfer.objects.filter(pending=transfer).exists():
        return
    _resolve_hold(actor, transfer, post_it=False, reason=str(status))


def describe_transfer(payload: Mapping[str, Any]) -> str:
    """The approval request's one-line description of the transfer it holds."""
    amount = payload.get("amount_minor")
    asset_code = str(payload.get("asset", ""))
    definition = assets.definition(asset_code)
    text = (
        assets.format_minor(int(amount), definition[1])
        if isinstance(amount, int) and definition
        else str(amount)
    )
    return _("Transfer %(amount)s %(asset)s from %(debit)s to %(credit)s (%(reference)s)") % {
        "amount": text,
        "asset": asset_code,
        "debit": payload.get("debit", "?"),
        "credit": payload.get("credit", "?"),
        "reference": payload.get("reference") or "-",
    }
