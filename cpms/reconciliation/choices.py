"""Enumerations of bank reconciliation."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.transitions import StateMachine


class MatchHow(models.TextChoices):
    AUTO = "auto", pgettext_lazy("match kind", "Automatic")
    MANUAL = "manual", pgettext_lazy("match kind", "Manual")


class BreakKind(models.TextChoices):
    UNMATCHED_LINE = "unmatched_line", _("Statement line without ledger transfer")
    UNMATCHED_TRANSFER = "unmatched_transfer", _("Ledger transfer not on the statement")
    STATEMENT_INCONSISTENT = "statement_inconsistent", _("Statement does not add up")


class BalanceCheck(models.TextChoices):
    """Whether opening balance + entries = closing balance (values of formats.base)."""

    ADDS_UP = "adds_up", _("Adds up")
    DOES_NOT_ADD_UP = "does_not_add_up", _("Does not add up")
    NOT_CHECKABLE = "not_checkable", _("Balance not checkable")


class BreakStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("break status", "Open")
    RESOLVED = "resolved", pgettext_lazy("break status", "Resolved")


# a break is resolved once (by a match or by a person with a note) and stays resolved
BREAK_STATES = StateMachine.from_targets(
    "reconciliation break", {BreakStatus.OPEN: (BreakStatus.RESOLVED,), BreakStatus.RESOLVED: ()}
)


# ageing buckets of the daily report: (label, lowest age in days, highest age or None)
AGE_BUCKETS = (("0-1", 0, 1), ("2-7", 2, 7), ("8-30", 8, 30), (">30", 31, None))
