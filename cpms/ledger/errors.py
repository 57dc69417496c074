"""Ledger refusals with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, CpmsError, NotFound, ValidationFailed


class InsufficientFunds(CpmsError):
    code = "ledger.insufficient_funds"
    status = 409

    def default_message(self) -> str:
        return _("The account does not hold enough to cover this transfer.")


class IdempotencyConflict(Conflict):
    code = "ledger.idempotency_conflict"

    def default_message(self) -> str:
        return _("This idempotency key was already used for a different transfer.")


def key_clash(field: str = "idempotency_key") -> IdempotencyConflict:
    """The one reply to a key stored for other content. Keys are unique across the ledger, so
    the stored transfer may be outside the caller's scope: the reply names neither it nor its
    accounts, only the field the caller filled in."""
    return IdempotencyConflict(
        fields={field: _("This idempotency key was already used for a different transfer.")}
    )


class PeriodClosed(ValidationFailed):
    code = "ledger.period_closed"

    def default_message(self) -> str:
        return _("The value date falls in a closed period.")


class AccountNotFound(NotFound):
    code = "ledger.account_not_found"

    def default_message(self) -> str:
        return _("No ledger account has this id or code.")


class TransferNotFound(NotFound):
    code = "ledger.transfer_not_found"

    def default_message(self) -> str:
        return _("No transfer has this id.")


class InvalidTransfer(ValidationFailed):
    code = "ledger.invalid_transfer"


class NotPending(Conflict):
    code = "ledger.not_pending"

    def default_message(self) -> str:
        return _("This transfer is not a pending hold (it was posted, voided or never held).")


class NotReversible(Conflict):
    code = "ledger.not_reversible"
