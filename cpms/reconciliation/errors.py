"""Reconciliation refusals with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, NotFound, ValidationFailed


class StatementRefused(ValidationFailed):
    """The file cannot be imported (unknown account, currency mismatch, ...): nothing written."""

    code = "reconciliation.refused"


class DuplicateStatement(Conflict):
    code = "reconciliation.duplicate_statement"

    def default_message(self) -> str:
        return _("This file was imported already for this bank account.")


class AlreadyMatched(Conflict):
    code = "reconciliation.already_matched"


class NotMatchable(ValidationFailed):
    code = "reconciliation.not_matchable"


class StatementNotFound(NotFound):
    code = "reconciliation.statement_not_found"

    def default_message(self) -> str:
        return _("No bank statement has this id.")


class LineNotFound(NotFound):
    code = "reconciliation.line_not_found"

    def default_message(self) -> str:
        return _("No statement line has this id.")


class MatchNotFound(NotFound):
    code = "reconciliation.match_not_found"

    def default_message(self) -> str:
        return _("No active match has this id.")


class BreakNotFound(NotFound):
    code = "reconciliation.break_not_found"

    def default_message(self) -> str:
        return _("No break has this id.")


class BreakClosed(Conflict):
    code = "reconciliation.break_resolved"

    def default_message(self) -> str:
        return _("This break is resolved already.")


class ProfileNotFound(NotFound):
    code = "reconciliation.profile_not_found"

    def default_message(self) -> str:
        return _("No CSV profile has this name.")
