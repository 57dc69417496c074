"""What the ledger's services share: the audit object types, the outcome of a posting, the
snapshot of a transfer that audit entries carry and the transfer an actor may act on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cpms.ledger import engine, selectors
from cpms.ledger.errors import TransferNotFound
from cpms.ledger.models import POST_PERMISSION, Account, Transfer

ACCOUNT_OBJECT = "ledger.account"
TRANSFER_OBJECT = "ledger.transfer"
# the maker-checker action of transfers above the approval threshold
APPROVAL_ACTION = "ledger.transfer"
TransferSpec = engine.TransferSpec


@dataclass(frozen=True)
class TransferOutcome:
    transfers: list[Transfer]
    replayed: bool
    # approval requests opened for transfers held above the threshold
    approval_request_ids: tuple[int, ...] = ()

    @property
    def transfer(self) -> Transfer:
        return self.transfers[0]


def transfer_snapshot(transfer: Transfer, accounts: Mapping[int, Account]) -> dict[str, Any]:
    """The transfer as its audit entry records it (accounts by code)."""
    return {
        "id": transfer.pk,
        "kind": transfer.kind,
        "debit": accounts[transfer.debit_account_id].code,
        "credit": accounts[transfer.credit_account_id].code,
        "amount_minor": transfer.amount,
        "asset": accounts[transfer.debit_account_id].asset.code,
        "reference": transfer.reference,
        "value_date": transfer.value_date.isoformat(),
        "idempotency_key": transfer.idempotency_key,
        "reverses": transfer.reverses_id,
        "pending": transfer.pending_id,
        "approval_request": transfer.approval_request_id,
    }


def accounts_of(transfer: Transfer) -> dict[int, Account]:
    """The two accounts of `transfer` by id (for `transfer_snapshot`)."""
    return {
        transfer.debit_account_id: transfer.debit_account,
        transfer.credit_account_id: transfer.credit_account,
    }


def locked_transfer(actor: Any, transfer_id: Any) -> Transfer:
    """The transfer to act on: both of its accounts in the actor's `ledger.post` scope (the
    expiry job, without an actor, reaches every row). Missing and out of scope are the same
    `TransferNotFound` (built by the selector)."""
    if actor is not None:
        return selectors.transfer_get_for_user(
            user=actor, transfer_id=transfer_id, permission=POST_PERMISSION
        )
    transfer = (
        Transfer.objects.select_related("debit_account__asset", "credit_account__asset")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise TransferNotFound()
    return transfer
