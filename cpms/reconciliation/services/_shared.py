"""Helpers shared by the reconciliation services: the audit object types, the permission check
(`actor=None` is the system), and the breaks that import, matching and unmatching open and
close. Package-private: callers use the functions re-exported by `services/__init__.py`."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.ledger.models import Account, Transfer
from cpms.reconciliation import selectors
from cpms.reconciliation.choices import BREAK_STATES, BreakKind, BreakStatus
from cpms.reconciliation.models import (
    RECONCILE_PERMISSION,
    BankStatement,
    BankStatementLine,
    Break,
)

STATEMENT_OBJECT = "reconciliation.statement"
MATCH_OBJECT = "reconciliation.match"
BREAK_OBJECT = "reconciliation.break"
PROFILE_OBJECT = "reconciliation.profile"
REPORT_OBJECT = "reconciliation.report"
ACCOUNT_OBJECT = "ledger.account"


def _require(actor: Any, permission: str = RECONCILE_PERMISSION) -> None:
    """Check the actor's permission; the system (`None`) may do everything."""
    if actor is not None:  # None: the system (CLI without --actor, scheduled jobs)
        require_permission(actor, permission)


def _user(actor: Any) -> Any:
    """The actor as a user foreign key: `None` for the system or an unsaved stand-in."""
    return actor if getattr(actor, "pk", None) else None


def _int(value: Any) -> int:
    """An id from a form or the API as an integer; 0 (no row has it) when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _close_breaks(
    *, line_ids: Collection[int], transfer_ids: Collection[int], actor: Any
) -> list[int]:
    """Resolve the open breaks of matched lines and transfers ("Matched.")."""
    condition = Q(line_id__in=list(line_ids), kind=BreakKind.UNMATCHED_LINE) | Q(
        transfer_id__in=list(transfer_ids), kind=BreakKind.UNMATCHED_TRANSFER
    )
    breaks = list(
        Break.objects.filter(condition, status=BreakStatus.OPEN).values_list("pk", flat=True)
    )
    if breaks:
        BREAK_STATES.move_rows(
            Break.objects.filter(pk__in=breaks),
            BreakStatus.RESOLVED,
            resolution=_("Matched."),
            resolved_at=timezone.now(),
            resolved_by=_user(actor),
        )
    return breaks


def _line_break(line: BankStatementLine, account: Account) -> Break:
    """An unsaved open break for a statement line no transfer matches."""
    return Break(
        account=account,
        kind=BreakKind.UNMATCHED_LINE,
        statement_id=line.statement_id,
        line=line,
        amount_minor=line.amount_minor,
        description=(line.reference or line.description or line.counterparty)[:500],
    )


def _transfer_break(transfer: Transfer, account: Account) -> Break:
    """An unsaved open break for a posted transfer no statement line matches."""
    return Break(
        account=account,
        kind=BreakKind.UNMATCHED_TRANSFER,
        transfer=transfer,
        amount_minor=selectors.signed_amount(account, transfer),
        description=transfer.reference[:500],
    )


def _open_breaks(account: Account, statements: Iterable[BankStatement]) -> int:
    """A break for each unmatched line of the statements and each unmatched posted transfer on
    the account dated within their period (unless one is open already)."""
    statements = list(statements)
    lines = selectors.unmatched_lines(account).filter(statement__in=statements)
    new = [_line_break(line, account) for line in lines]
    dates = [
        day
        for statement in statements
        for day in (statement.opening_date, statement.closing_date)
        if day is not None
    ]
    dates += [
        line.booking_date
        for line in BankStatementLine.objects.filter(statement__in=statements).only("booking_date")
    ]
    if dates:
        already = Break.objects.filter(
            status=BreakStatus.OPEN, kind=BreakKind.UNMATCHED_TRANSFER, account=account
        ).values_list("transfer_id", flat=True)
        transfers = (
            selectors.unmatched_transfers(account)
            .filter(value_date__gte=min(dates), value_date__lte=max(dates))
            .exclude(pk__in=already)
        )
        new += [_transfer_break(transfer, account) for transfer in transfers]
    Break.objects.bulk_create(new)
    return len(new)
