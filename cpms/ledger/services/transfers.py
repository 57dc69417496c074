"""Posting transfers: one (`transfer_post`), a linked batch (`transfers_post`), the body of
`POST /ledger/transfers` (`transfer_request_post`), and `post_internal` for the other domain
services. Transfers of money above the `ledger.transfer` approval threshold become holds
awaiting approval. Replays of idempotency keys are looked up by the engine, nowhere else."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pydantic
from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.approvals import services as approvals
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import engine, selectors
from cpms.ledger.choices import AssetKind, TransferKind
from cpms.ledger.errors import AccountNotFound, InvalidTransfer
from cpms.ledger.models import POST_PERMISSION, Transfer
from cpms.ledger.schemas import TransferIn, TransferPostIn
from cpms.ledger.services._shared import (
    APPROVAL_ACTION,
    TRANSFER_OBJECT,
    TransferOutcome,
    TransferSpec,
    transfer_snapshot,
)

MAX_REASON = 2000


# ------------------------------------------------------------------------ input


def _parse_items(items: Sequence[Any]) -> list[TransferIn]:
    """Each item as a `TransferIn`; every problem of every item at once, named
    `transfers[i].field` in a batch of more than one."""
    parsed: list[TransferIn] = []
    problems: dict[str, str] = {}
    for index, item in enumerate(items):
        if isinstance(item, TransferIn):
            parsed.append(item)
            continue
        try:
            parsed.append(TransferIn.model_validate(dict(item)))
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error.get("loc", ()))
                prefix = f"transfers[{index}]." if len(items) > 1 else ""
                problems.setdefault(f"{prefix}{where}", error.get("msg", "invalid"))
        except (TypeError, ValueError):
            problems[f"transfers[{index}]"] = _("Each transfer must be an object.")
    if problems:
        raise InvalidTransfer(_("The transfer is not valid."), fields=problems)
    return parsed


def specs_from_input(actor: Any, items: Sequence[TransferIn]) -> list[TransferSpec]:
    """Resolve account references within the actor's `ledger.post` scope (customer accounts
    of customers in scope, and the firm's internal accounts); every unknown account is
    reported. An account out of scope is unknown: the reply names only the reference the
    caller sent, the same whether the account is out of scope or does not exist."""
    refs = [ref for item in items for ref in (item.debit_account, item.credit_account)]
    found = selectors.accounts_for_user(actor, refs, POST_PERMISSION)
    problems: dict[str, str] = {}
    specs: list[TransferSpec] = []
    for index, item in enumerate(items):
        prefix = f"transfers[{index}]." if len(items) > 1 else ""
        debit = found.get(item.debit_account)
        credit = found.get(item.credit_account)
        if debit is None:
            problems[f"{prefix}debit_account"] = _("No account %(ref)s.") % {
                "ref": item.debit_account
            }
        if credit is None:
            problems[f"{prefix}credit_account"] = _("No account %(ref)s.") % {
                "ref": item.credit_account
            }
        if debit is None or credit is None:
            continue
        if item.asset and item.asset.upper() != debit.asset.code:
            problems[f"{prefix}asset"] = _("The accounts hold %(asset)s.") % {
                "asset": debit.asset.code
            }
        specs.append(
            TransferSpec(
                debit_account=debit,
                credit_account=credit,
                amount=item.amount_minor,
                reference=item.reference,
                value_date=item.value_date,
                metadata=item.metadata,
                idempotency_key=item.idempotency_key,
                pending=item.pending,
                expires_at=item.expires_at,
            )
        )
    if problems:
        raise AccountNotFound(_("Some accounts are unknown."), fields=problems)
    return specs


def _clean_reason(reason: Any) -> str:
    """The reason shown to approvers of held transfers: text of at most 2,000 characters."""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ValidationFailed(fields={"reason": _("Give a text of at most 2000 characters.")})
    return reason


def _check_batch_size(items: Sequence[Any]) -> None:
    if not items:
        raise InvalidTransfer(fields={"transfers": _("Give at least one transfer.")})
    if len(items) > engine.MAX_BATCH:
        raise InvalidTransfer(
            fields={
                "transfers": _("At most %(max)s transfers per batch.") % {"max": engine.MAX_BATCH}
            }
        )


# ------------------------------------------------------------------------ approvals


def _hold_for_approval(actor: Any, specs: Sequence[TransferSpec], reason: str) -> list[int]:
    """Transfers of money above the `ledger.transfer` threshold become holds awaiting approval:
    the funds are reserved now and posted when approved (voided when rejected or expired)."""
    opened: list[int] = []
    required = None
    for spec in specs:
        asset = spec.debit_account.asset
        if spec.pending or spec.reverses is not None or asset.kind != AssetKind.CURRENCY:
            continue
        if required is None:
            required = approvals.approval_rule(APPROVAL_ACTION)
        if not required(spec.amount, asset.code):
            continue
        spec.idempotency_key = spec.idempotency_key or engine.new_key()
        submission = approvals.approval_submit(
            actor=actor,
            action=APPROVAL_ACTION,
            payload={
                "idempotency_key": spec.idempotency_key,
                "debit": spec.debit_account.code,
                "credit": spec.credit_account.code,
                "amount_minor": spec.amount,
                "asset": asset.code,
                "reference": spec.reference,
            },
            object_type=TRANSFER_OBJECT,
            object_id=spec.idempotency_key,
            amount_minor=spec.amount,
            currency=asset.code,
            reason=reason or _("Transfer above the approval threshold"),
        )
        if submission.request is not None:
            spec.pending = True
            spec.approval_request_id = submission.request.pk
            spec.expires_at = submission.request.expires_at
            opened.append(submission.request.pk)
    return opened


def _post_with_approvals(
    actor: Any, specs: list[TransferSpec], reason: str, batch: uuid.UUID | None
) -> TransferOutcome:
    """Post through the engine; a new posting (never a replay, which the engine answers
    first) has its transfers above the threshold held for approval before it is written."""
    opened: list[int] = []

    def hold_above_threshold(new: Sequence[TransferSpec]) -> None:
        opened.extend(_hold_for_approval(actor, new, reason))

    posted = engine.post(specs, actor=actor, batch=batch, before_posting=hold_above_threshold)
    return TransferOutcome(
        transfers=posted.transfers, replayed=posted.replayed, approval_request_ids=tuple(opened)
    )


# ------------------------------------------------------------------------ posting


def _post_one(actor: Any, data: Any, reason: str) -> TransferOutcome:
    """One transfer for an actor whose permission was checked; audited unless replayed."""
    reason = _clean_reason(reason)
    [item] = _parse_items([data])
    with transaction.atomic():
        specs = specs_from_input(actor, [item])
        outcome = _post_with_approvals(actor, specs, reason, None)
        if not outcome.replayed:
            transfer = outcome.transfer
            accounts = {
                specs[0].debit_account.pk: specs[0].debit_account,
                specs[0].credit_account.pk: specs[0].credit_account,
            }
            held = transfer.kind == TransferKind.PENDING
            audit_record(
                actor=actor,
                action=AuditAction.TRANSFER_HELD if held else AuditAction.TRANSFER_POSTED,
                object_type=TRANSFER_OBJECT,
                object_id=transfer.pk,
                after=transfer_snapshot(transfer, accounts),
                reason=reason,
            )
    return outcome


def _batch_digest(transfers: Sequence[Transfer]) -> str:
    digest = hashlib.sha256()
    for transfer in transfers:
        digest.update(
            json.dumps(
                [
                    transfer.idempotency_key,
                    transfer.debit_account_id,
                    transfer.credit_account_id,
                    transfer.amount,
                    transfer.kind,
                ],
                separators=(",", ":"),
            ).encode()
        )
    return digest.hexdigest()


def _batch_audit(
    actor: Any,
    batch: uuid.UUID,
    specs: Sequence[TransferSpec],
    outcome: TransferOutcome,
    reason: str,
) -> None:
    """One entry for the batch: ids, how many are held, totals per asset, a digest of every
    transfer."""
    totals: dict[str, int] = defaultdict(int)
    for spec in specs:
        totals[spec.debit_account.asset.code] += spec.amount
    ids = [transfer.pk for transfer in outcome.transfers]
    audit_record(
        actor=actor,
        action=AuditAction.TRANSFER_BATCH_POSTED,
        object_type=TRANSFER_OBJECT,
        object_id=str(batch),
        after={
            "batch": str(batch),
            "count": len(ids),
            "first_id": min(ids),
            "last_id": max(ids),
            "held": sum(1 for t in outcome.transfers if t.kind == TransferKind.PENDING),
            "totals_minor": dict(sorted(totals.items())),
            "sha256": _batch_digest(outcome.transfers),
        },
        reason=reason,
    )


def _post_batch(actor: Any, items: Sequence[Any], reason: Any) -> TransferOutcome:
    """A linked batch for an actor whose permission was checked; audited unless replayed."""
    reason = _clean_reason(reason)
    _check_batch_size(items)
    parsed = _parse_items(items)
    batch = uuid.uuid4()
    with transaction.atomic():
        specs = specs_from_input(actor, parsed)
        outcome = _post_with_approvals(actor, specs, reason, batch)
        if not outcome.replayed:
            _batch_audit(actor, batch, specs, outcome, reason)
    return outcome


def transfer_post(*, actor: Any, data: Any, reason: str = "") -> TransferOutcome:
    """Post one transfer (or hold it: `pending`, or above the approval threshold). A replay of
    its idempotency key returns the original and posts nothing."""
    require_permission(actor, POST_PERMISSION)
    return _post_one(actor, data, reason)


def transfers_post(*, actor: Any, items: Sequence[Any], reason: str = "") -> TransferOutcome:
    """Post a linked batch (up to 8,190) all-or-nothing: one refusal refuses the batch. A replay
    of the whole batch returns the originals. One audit entry records the batch (ids, totals
    per asset, a digest of every transfer)."""
    require_permission(actor, POST_PERMISSION)
    return _post_batch(actor, items, reason)


def transfer_request_post(*, actor: Any, body: TransferPostIn | Any) -> TransferOutcome:
    """Post what `POST /ledger/transfers` received: one transfer object, or a batch
    `{"transfers": [...], "reason": "..."}`. The permission is checked before the body is
    read, so a caller without `ledger.post` learns nothing about what was wrong with it."""
    require_permission(actor, POST_PERMISSION)
    if not isinstance(body, TransferPostIn):
        body = TransferPostIn(body)
    items, reason, is_batch = body.parts()
    if is_batch:
        return _post_batch(actor, items, reason)
    return _post_one(actor, items[0], reason)


def post_internal(
    *, actor: Any, specs: list[TransferSpec], batch: uuid.UUID | None = None
) -> engine.Posted:
    """For other domain services: post inside their transaction. They checked permission and
    scope and record their own audit entry naming the transfers."""
    return engine.post(specs, actor=actor, batch=batch)
