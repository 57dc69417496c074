"""Reversals: a posted transfer is undone by a new one in the opposite direction, linked to it;
the original is never edited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger import engine
from cpms.ledger.choices import TransferKind
from cpms.ledger.errors import NotReversible, key_clash
from cpms.ledger.models import POST_PERMISSION, Transfer
from cpms.ledger.services._shared import (
    TRANSFER_OBJECT,
    TransferOutcome,
    TransferSpec,
    accounts_of,
    locked_transfer,
    transfer_snapshot,
)


def _reversal_spec(original: Transfer, key: str, reason: str) -> TransferSpec:
    """The mirror of `original`: accounts swapped, same amount, linked to it."""
    return TransferSpec(
        debit_account=original.credit_account,
        credit_account=original.debit_account,
        amount=original.amount,
        reference=f"REV {original.reference}"[:140]
        if original.reference
        else f"REV #{original.pk}",
        metadata={"reverses": original.pk, "reason": reason[:500]},
        idempotency_key=key,
        reverses=original,
    )


def _check_reversible(original: Transfer) -> None:
    """Only a posted transfer that is not itself a reversal, and only once."""
    if original.kind not in (TransferKind.POSTED, TransferKind.POST_PENDING):
        raise NotReversible(
            _("Only a posted transfer can be reversed; void a hold instead."),
            fields={"transfer": str(original.pk)},
        )
    if original.reverses_id is not None:
        raise NotReversible(
            _("This transfer is itself a reversal; post a new transfer instead."),
            fields={"transfer": str(original.pk)},
        )
    if Transfer.objects.filter(reverses=original).exists():
        raise NotReversible(
            _("This transfer was reversed already."), fields={"transfer": str(original.pk)}
        )


def transfer_reverse(
    *, actor: Any, transfer_id: Any, reason: str, idempotency_key: str | None = None
) -> TransferOutcome:
    """Undo a posted transfer with a new one in the opposite direction, linked to it. The
    original is never edited; it can be reversed once. The reversal obeys the no-negative rule
    like any transfer (money already spent cannot be pulled back). A retry with the same key
    (by default `reverse:<id>`) is answered by the engine as the replay it is, before the
    "reversed already" check."""
    require_permission(actor, POST_PERMISSION)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    with transaction.atomic():
        original = locked_transfer(actor, transfer_id)
        key = idempotency_key or f"reverse:{original.pk}"

        def reversible(_specs: Sequence[TransferSpec]) -> None:
            _check_reversible(original)

        posted = engine.post(
            [_reversal_spec(original, key, text)], actor=actor, before_posting=reversible
        )
        reversal = posted.transfers[0]
        if posted.replayed:
            if reversal.reverses_id != original.pk:
                # the same reply as any key clash: it names neither the transfer nor its
                # accounts (the key may be another branch's)
                raise key_clash()
            return TransferOutcome(transfers=[reversal], replayed=True)
        audit_record(
            actor=actor,
            action=AuditAction.TRANSFER_REVERSED,
            object_type=TRANSFER_OBJECT,
            object_id=original.pk,
            after=transfer_snapshot(reversal, accounts_of(original)),
            reason=text,
        )
    return TransferOutcome(transfers=[reversal], replayed=False)
