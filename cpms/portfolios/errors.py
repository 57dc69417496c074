"""Refusals of portfolio trading with stable codes (the ledger's own errors pass through:
`ledger.insufficient_funds`, `ledger.period_closed`, `ledger.idempotency_conflict`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, NotFound, ValidationFailed


class PortfolioNotFound(NotFound):
    code = "portfolios.not_found"

    def default_message(self) -> str:
        return _("No portfolio has this id.")


class TradeNotValid(ValidationFailed):
    code = "portfolios.trade_invalid"

    def default_message(self) -> str:
        return _("The trade is not valid.")


class TradeKeyConflict(Conflict):
    code = "portfolios.idempotency_conflict"

    def default_message(self) -> str:
        return _("This idempotency key was already used for a different trade.")
