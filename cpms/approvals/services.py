"""Every write of the maker-checker. Each public function owns its transaction and writes its
audit entries inside it.

Flow: a domain service calls `approval_submit(...)`. When the action's policy does not require
approval, it gets `Submission(required=False)` and runs the operation itself. Otherwise a pending
`ApprovalRequest` is stored; approvers call `approval_approve` / `approval_reject`; the approval
that reaches the required count runs the registered executor in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.approvals import listeners, registry
from cpms.approvals.choices import REQUEST_STATES, ApprovalStatus, DecisionKind
from cpms.approvals.errors import (
    AlreadyDecided,
    ExecutionFailed,
    NotApprover,
    NotMaker,
    NotPending,
    RequestExpired,
    SelfApproval,
    UnknownAction,
)
from cpms.approvals.models import (
    DEFAULT_APPROVER_PERMISSION,
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
)
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import context
from cpms.core.authz import require_permission, user_has_permission
from cpms.core.errors import CpmsError, NotFound, ValidationFailed
from cpms.core.locks import lock_rows
from cpms.core.permissions import BY_CODE
from cpms.core.transitions import TransitionRefused

logger = logging.getLogger(__name__)

OBJECT_TYPE = "approval_request"
POLICY_OBJECT_TYPE = "approval_policy"
MAX_APPROVERS = 10
MAX_EXPIRY_HOURS = 24 * 365
MAX_REASON = 2000
POLICY_FIELDS = (
    "enabled",
    "approvers_required",
    "threshold_minor",
    "currency",
    "expiry_hours",
    "approver_permission",
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Submission:
    """What `approval_submit` decided: `required=False` means run the operation now."""

    required: bool
    request: ApprovalRequest | None = None


NOT_REQUIRED = Submission(required=False)


# ---------------------------------------------------------------- policies


def _policy(action: str) -> ApprovalPolicy:
    policy = ApprovalPolicy.objects.filter(action=action).first()
    if policy is None:
        raise UnknownAction(fields={"action": action})
    return policy


def _policy_requires(
    policy: ApprovalPolicy, amount_minor: int | None, currency: str | None
) -> bool:
    """Disabled: never. No threshold: always. With a threshold: amounts strictly above it in the
    policy's currency; an unknown amount or another currency fails closed (approval needed)."""
    if not policy.enabled:
        return False
    if policy.threshold_minor is None:
        return True
    if amount_minor is None:
        return True
    if policy.currency and (currency or "").upper() != policy.currency:
        return True
    return amount_minor > policy.threshold_minor


def approval_required(
    action: str, amount_minor: int | None = None, currency: str | None = None
) -> bool:
    """Whether `action` (for this amount) must go through approval. Unknown actions raise."""
    return _policy_requires(_policy(action), amount_minor, currency)


def approval_rule(action: str) -> Any:
    """`approval_required` for many amounts of one action, reading the policy once (batches)."""
    policy = _policy(action)

    def required(amount_minor: int | None = None, currency: str | None = None) -> bool:
        return _policy_requires(policy, amount_minor, currency)

    return required


def policy_snapshot(policy: ApprovalPolicy) -> dict[str, Any]:
    return {field: getattr(policy, field) for field in POLICY_FIELDS}


def _clean_policy(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    approvers = values["approvers_required"]
    if not isinstance(approvers, int) or isinstance(approvers, bool):
        errors["approvers_required"] = _("Use a whole number.")
    elif not 1 <= approvers <= MAX_APPROVERS:
        errors["approvers_required"] = _("Use a number from 1 to %(max)d.") % {"max": MAX_APPROVERS}
    hours = values["expiry_hours"]
    if not isinstance(hours, int) or isinstance(hours, bool):
        errors["expiry_hours"] = _("Use a whole number.")
    elif not 1 <= hours <= MAX_EXPIRY_HOURS:
        errors["expiry_hours"] = _("Use a number of hours from 1 to %(max)d.") % {
            "max": MAX_EXPIRY_HOURS
        }
    threshold = values["threshold_minor"]
    currency = (values["currency"] or "").strip().upper()
    values["currency"] = currency
    if threshold is not None and (
        not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0
    ):
        errors["threshold_minor"] = _("Use a whole number of minor units, zero or more.")
    if currency and not _CURRENCY.match(currency):
        errors["currency"] = _("Use a three-letter ISO 4217 code, e.g. CNY.")
    elif threshold is not None and not currency:
        errors["currency"] = _("A threshold needs a currency.")
    elif threshold is None and currency:
        errors["threshold_minor"] = _("A currency needs a threshold.")
    if values["approver_permission"] not in BY_CODE:
        errors["approver_permission"] = _("Unknown permission.")
    if not isinstance(values["enabled"], bool):
        errors["enabled"] = _("Use true or false.")
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def approval_policy_ensure(
    *,
    actor: Any,
    action: str,
    enabled: bool = True,
    approvers_required: int = 1,
    threshold_minor: int | None = None,
    currency: str = "",
    expiry_hours: int = 72,
    approver_permission: str = DEFAULT_APPROVER_PERMISSION,
) -> ApprovalPolicy:
    """Create the policy of a new action with these defaults, or return the existing one
    unchanged (administrators may have edited it)."""
    values = _clean_policy(
        {
            "enabled": enabled,
            "approvers_required": approvers_required,
            "threshold_minor": threshold_minor,
            "currency": currency,
            "expiry_hours": expiry_hours,
            "approver_permission": approver_permission,
        }
    )
    with transaction.atomic():
        policy, created = ApprovalPolicy.objects.get_or_create(action=action, defaults=values)
        if created:
            audit_record(
                actor=actor,
                action=AuditAction.APPROVAL_POLICY_CHANGED,
                object_type=POLICY_OBJECT_TYPE,
                object_id=action,
                before=None,
                after=policy_snapshot(policy),
            )
    return policy


def approval_policy_update(
    *, actor: Any, action: str, changes: Mapping[str, Any], reason: str = ""
) -> ApprovalPolicy:
    """Change some fields of a policy (holders of `approvals.configure`); audited with
    before/after. Pending requests keep the values they were submitted with."""
    require_permission(actor, "approvals.configure")
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationFailed(fields={name: _("Unknown field.") for name in unknown})
    with transaction.atomic():
        policy = ApprovalPolicy.objects.select_for_update().filter(action=action).first()
        if policy is None:
            raise NotFound(_("No approval policy has this action."), fields={"action": action})
        before = policy_snapshot(policy)
        after = _clean_policy({**before, **dict(changes)})
        if after == before:
            return policy
        for field, value in after.items():
            setattr(policy, field, value)
        policy.updated_at = timezone.now()
        policy.save(update_fields=[*POLICY_FIELDS, "updated_at"])
        changed = [field for field in POLICY_FIELDS if before[field] != after[field]]
        audit_record(
            actor=actor,
            action=AuditAction.APPROVAL_POLICY_CHANGED,
            object_type=POLICY_OBJECT_TYPE,
            object_id=action,
            before={field: before[field] for field in changed},
            after={field: after[field] for field in changed},
            reason=reason.strip()[:MAX_REASON],
        )
    return policy


# ---------------------------------------------------------------- requests


def _payload_digest(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _json_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValidationFailed(fields={"payload": _("The payload must be a JSON object.")})
    try:
        return json.loads(json.dumps(dict(payload)))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(fields={"payload": _("The payload must be plain JSON.")}) from exc


def _clean_reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationFailed(fields={"reason": _("A reason is required.")})
    if len(text) > MAX_REASON:
        raise ValidationFailed(
            fields={"reason": _("Use at most %(max)d characters.") % {"max": MAX_REASON}}
        )
    return text


def approval_submit(
    *,
    actor: Any,
    action: str,
    payload: Mapping[str, Any],
    object_type: str = "",
    object_id: Any = "",
    amount_minor: int | None = None,
    currency: str | None = None,
    reason: str,
) -> Submission:
    """Ask for approval of `action`, or answer that none is needed (`Submission.required` is
    False and the caller runs the operation directly). The maker is `actor`."""
    if actor is None or not getattr(actor, "pk", None):
        raise ValidationFailed(fields={"actor": _("A request needs a maker.")})
    if registry.get(action) is None:
        raise UnknownAction(fields={"action": action})
    policy = _policy(action)
    if not _policy_requires(policy, amount_minor, currency):
        return NOT_REQUIRED
    clean_payload = _json_object(payload)
    text = _clean_reason(reason, required=True)
    now = timezone.now()
    with transaction.atomic():
        request = ApprovalRequest.objects.create(
            action=action,
            status=ApprovalStatus.PENDING,
            maker=actor,
            maker_token_id=context.current().token_id,
            payload=clean_payload,
            summary=registry.summary(action, clean_payload),
            object_type=object_type[:64],
            object_id=str(object_id)[:64] if object_id not in (None, "") else "",
            amount_minor=amount_minor,
            currency=(currency or "").upper()[:3],
            reason=text,
            approvers_required=policy.approvers_required,
            approver_permission=policy.approver_permission,
            created_at=now,
            expires_at=now + timedelta(hours=policy.expiry_hours),
        )
        audit_record(
            actor=actor,
            action=AuditAction.APPROVAL_REQUESTED,
            object_type=OBJECT_TYPE,
            object_id=request.pk,
            after={
                "action": action,
                "object_type": request.object_type,
                "object_id": request.object_id,
                "amount_minor": amount_minor,
                "currency": request.currency,
                "approvers_required": request.approvers_required,
                "expires_at": request.expires_at.isoformat(),
                "payload": _payload_digest(clean_payload),
            },
            reason=text,
        )
        _notify(listeners.awaiting_decision, request, actor=actor)
    return Submission(required=True, request=request)


def _notify(send: Any, request: ApprovalRequest, **kwargs: Any) -> None:
    """Send approval notices inside the caller's transaction, in a savepoint: a notice that
    cannot be written is logged and never undoes the request or the decision."""
    try:
        with transaction.atomic():
            send(request, **kwargs)
    except Exception:
        logger.exception("approval notice for request %s could not be written", request.pk)


def _locked(request_id: Any) -> ApprovalRequest:
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    request = ApprovalRequest.objects.select_for_update().filter(pk=pk).first()
    if request is None:
        raise NotFound(_("No approval request has this id."))
    return request


_CLOSING = (ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED, ApprovalStatus.CANCELLED)


def _move(
    request: ApprovalRequest, to: str, *, now: Any, result: Any = None, actor: Any = None
) -> None:
    try:
        REQUEST_STATES.move(request, to)
    except TransitionRefused:
        raise NotPending() from None
    request.closed_at = now
    fields = ["status", "closed_at"]
    if result is not None:
        request.result = result
        fields.append("result")
    request.save(update_fields=fields)
    if to in _CLOSING:
        # release what the operation reserved at submission, in this same transaction
        operation = registry.get(request.action)
        if operation is not None and operation.on_close is not None:
            operation.on_close(request=request, actor=actor, status=to)


def _expire(request: ApprovalRequest, *, actor: Any, now: Any) -> None:
    _move(request, ApprovalStatus.EXPIRED, now=now, actor=actor)
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_EXPIRED,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        before={"status": ApprovalStatus.PENDING},
        after={"status": ApprovalStatus.EXPIRED, "expires_at": request.expires_at.isoformat()},
    )
    _notify(listeners.decided, request, actor=actor)


def _check_checker(request: ApprovalRequest, actor: Any) -> None:
    """Refusals that change nothing: the maker, someone without the permission, a closed request."""
    if actor is None or not getattr(actor, "pk", None):
        raise NotApprover()
    if request.maker_id == actor.pk:
        raise SelfApproval()
    if getattr(actor, "is_service_account", False):
        raise NotApprover(_("A service account cannot approve or reject requests."))
    if request.maker_token_id is not None and request.maker_token.created_by_id == actor.pk:
        # the decider issued the token that made the request: they could have made it
        raise SelfApproval(
            _("You issued the API token that made this request; someone else must decide it.")
        )
    code = request.approver_permission
    if code not in BY_CODE or not user_has_permission(actor, code):
        raise NotApprover()
    if request.status != ApprovalStatus.PENDING:
        raise NotPending()


def _decide(*, actor: Any, request_id: Any, reason: str, kind: str) -> ApprovalRequest:
    text = _clean_reason(reason, required=kind == DecisionKind.REJECTED)
    expired = False
    with transaction.atomic():
        request = _locked(request_id)
        _check_checker(request, actor)
        now = timezone.now()
        if request.is_overdue(now):
            _expire(request, actor=actor, now=now)
            expired = True
        else:
            if request.decisions.filter(approver=actor).exists():
                raise AlreadyDecided()
            _record_decision(request, actor=actor, kind=kind, reason=text, now=now)
    if expired:
        raise RequestExpired()
    return request


def _record_decision(
    request: ApprovalRequest, *, actor: Any, kind: str, reason: str, now: Any
) -> None:
    try:
        with transaction.atomic():
            ApprovalDecision.objects.create(
                request=request, approver=actor, decision=kind, reason=reason, decided_at=now
            )
    except IntegrityError as exc:  # the row lock makes this unreachable; the constraint backs it
        raise AlreadyDecided() from exc
    if kind == DecisionKind.REJECTED:
        _move(request, ApprovalStatus.REJECTED, now=now, actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.APPROVAL_REJECTED,
            object_type=OBJECT_TYPE,
            object_id=request.pk,
            before={"status": ApprovalStatus.PENDING},
            after={"status": ApprovalStatus.REJECTED},
            reason=reason,
        )
        _notify(listeners.decided, request, actor=actor)
        return
    approvals = request.decisions.filter(decision=DecisionKind.APPROVED).count()
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_APPROVED,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        after={"approvals": approvals, "approvers_required": request.approvers_required},
        reason=reason,
    )
    if approvals >= request.approvers_required:
        _execute(request, actor=actor, now=now)
    else:
        _notify(listeners.awaiting_decision, request, actor=actor, approvals=approvals)


def _execute(request: ApprovalRequest, *, actor: Any, now: Any) -> None:
    """Run the deferred operation inside the caller's transaction; any failure propagates and
    rolls back the final approval with it."""
    operation = registry.get(request.action)
    if operation is None:
        raise UnknownAction(fields={"action": request.action})
    try:
        outcome = operation.execute(request=request, actor=actor)
        result = json.loads(json.dumps(dict(outcome or {})))
    except CpmsError:
        raise
    except Exception as exc:
        logger.exception("approved operation %s (request %s) failed", request.action, request.pk)
        raise ExecutionFailed(fields={"operation": type(exc).__name__}) from exc
    _move(request, ApprovalStatus.EXECUTED, now=now, result=result)
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_EXECUTED,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        before={"status": ApprovalStatus.PENDING},
        after={"status": ApprovalStatus.EXECUTED, "action": request.action, "result": result},
    )
    _notify(listeners.decided, request, actor=actor)


def approval_approve(*, actor: Any, request_id: Any, reason: str = "") -> ApprovalRequest:
    """Approve as a checker. The approval that reaches the required count executes the
    operation in the same transaction; if the operation fails, nothing is committed."""
    return _decide(actor=actor, request_id=request_id, reason=reason, kind=DecisionKind.APPROVED)


def approval_reject(*, actor: Any, request_id: Any, reason: str) -> ApprovalRequest:
    """Reject as a checker (a reason is required); one rejection closes the request."""
    return _decide(actor=actor, request_id=request_id, reason=reason, kind=DecisionKind.REJECTED)


def approval_cancel(*, actor: Any, request_id: Any, reason: str = "") -> ApprovalRequest:
    """The maker withdraws a pending request."""
    text = _clean_reason(reason, required=False)
    with transaction.atomic():
        request = _locked(request_id)
        if actor is None or request.maker_id != getattr(actor, "pk", None):
            raise NotMaker()
        if request.status != ApprovalStatus.PENDING:
            raise NotPending()
        _move(request, ApprovalStatus.CANCELLED, now=timezone.now(), actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.APPROVAL_CANCELLED,
            object_type=OBJECT_TYPE,
            object_id=request.pk,
            before={"status": ApprovalStatus.PENDING},
            after={"status": ApprovalStatus.CANCELLED},
            reason=text,
        )
    return request


def approval_expire_overdue(*, actor: Any = None) -> int:
    """Mark every pending request past its expiry as expired (one audit entry each)."""
    now = timezone.now()
    with transaction.atomic():
        overdue = list(
            lock_rows(
                ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
            ).values()
        )
        for request in overdue:
            _expire(request, actor=actor, now=now)
    return len(overdue)
