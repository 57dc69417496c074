"""Disposal of an item in custody, with the customer's written consent, through maker-checker
(`holdings.dispose`): the request here, the executor and the description the approvals
registry calls (registered in `CustodyConfig.ready()`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_submit
from cpms.audit.choices import AuditAction
from cpms.custody.choices import CustodyEventKind
from cpms.custody.errors import DisposalPending
from cpms.custody.models import OPERATE_PERMISSION, CustodyItem
from cpms.custody.services._common import (
    DISPOSE_ACTION,
    ITEM_OBJECT,
    MAX_TEXT,
    _check_step,
    _locked_item,
    _raise,
    _step,
    _text,
)


def item_dispose_request(
    *,
    actor: Any,
    item: Any,
    consent_reference: str,
    method: str,
    reason: str,
) -> Any:
    """Ask to dispose of an item in custody. Needs the customer's written consent reference;
    goes through maker-checker (`holdings.dispose`). Returns the pending ApprovalRequest, or the
    disposed item when the policy is switched off."""
    require_permission(actor, OPERATE_PERMISSION)
    errors: dict[str, str] = {}
    consent_reference = _text(
        consent_reference, "consent_reference", errors, required=True, limit=120
    )
    method = _text(method, "method", errors, required=True, limit=200)
    reason = _text(reason, "reason", errors, required=True, limit=MAX_TEXT)
    _raise(errors)
    with transaction.atomic():
        locked = _locked_item(actor, item)
        _check_step(locked, CustodyEventKind.DISPOSE)
        if ApprovalRequest.objects.filter(
            action=DISPOSE_ACTION,
            object_type=ITEM_OBJECT,
            object_id=str(locked.pk),
            status="pending",
        ).exists():
            raise DisposalPending()
        payload = {
            "item_id": locked.pk,
            "holding_number": locked.holding.holding_number,
            "description": locked.holding.description,
            "consent_reference": consent_reference,
            "method": method,
        }
        outcome = approval_submit(
            actor=actor,
            action=DISPOSE_ACTION,
            payload=payload,
            object_type=ITEM_OBJECT,
            object_id=locked.pk,
            amount_minor=locked.holding.value_minor,
            currency=locked.holding.currency,
            reason=reason,
        )
        if outcome.required:
            return outcome.request
        return _dispose(actor, locked, payload, approval_id=None, approver=None, reason=reason)


def _dispose(
    actor: Any, item: CustodyItem, payload: dict, *, approval_id: Any, approver: Any, reason: str
) -> CustodyItem:
    now = timezone.now()
    return _step(
        actor,
        item,
        event=CustodyEventKind.DISPOSE,
        action=AuditAction.CUSTODY_DISPOSED,
        now=now,
        reason=reason,
        details={
            "consent_reference": payload["consent_reference"],
            "method": payload["method"],
            "approval_id": approval_id,
            "approved_by_id": getattr(approver, "pk", None),
        },
    )


def item_dispose_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `holdings.dispose` request: the disposal is made in the maker's
    name (permission and scope checked again now) inside the final approval's transaction."""
    payload = request.payload
    item = _dispose(
        request.maker,
        payload["item_id"],
        payload,
        approval_id=request.pk,
        approver=actor,
        reason=f"{request.reason} (approval #{request.pk})".strip(),
    )
    return {"item_id": item.pk, "state": item.state}


def item_dispose_describe(payload: dict[str, Any]) -> str:
    return _("Dispose of %(number)s %(description)s (consent %(consent)s)") % {
        "number": payload.get("holding_number", ""),
        "description": payload.get("description", ""),
        "consent": payload.get("consent_reference", ""),
    }
