"""Every write of bank reconciliation: statement import (parse, find the bank account, store,
flag what does not add up, auto-match, open breaks), manual match and unmatch, break owner and
resolution, CSV profiles, the daily report. Each function owns its transaction, checks
`ledger.reconcile` (`actor=None` is the system: the CLI without --actor and the jobs) and
records its audit entry inside the transaction.

The sub-modules by sub-domain: `statements` (import), `matching`, `breaks`, `profiles`,
`reports`; helpers they share (audit object types, the permission check, opening and closing
breaks) are in `_shared`. Callers outside the package use the names re-exported here."""

from cpms.reconciliation.services._shared import (
    ACCOUNT_OBJECT,
    BREAK_OBJECT,
    MATCH_OBJECT,
    PROFILE_OBJECT,
    REPORT_OBJECT,
    STATEMENT_OBJECT,
)
from cpms.reconciliation.services.breaks import break_assign, break_resolve
from cpms.reconciliation.services.matching import (
    DEFAULT_WINDOW_DAYS,
    MAX_ACCEPT,
    AcceptResult,
    auto_match,
    date_window_days,
    match_accept,
    match_create,
    match_undo,
)
from cpms.reconciliation.services.profiles import profile_save
from cpms.reconciliation.services.reports import report_write
from cpms.reconciliation.services.statements import (
    ImportResult,
    RefusedStatement,
    statement_import,
)

__all__ = [
    "ACCOUNT_OBJECT",
    "BREAK_OBJECT",
    "DEFAULT_WINDOW_DAYS",
    "MATCH_OBJECT",
    "MAX_ACCEPT",
    "PROFILE_OBJECT",
    "REPORT_OBJECT",
    "STATEMENT_OBJECT",
    "AcceptResult",
    "ImportResult",
    "RefusedStatement",
    "auto_match",
    "break_assign",
    "break_resolve",
    "date_window_days",
    "match_accept",
    "match_create",
    "match_undo",
    "profile_save",
    "report_write",
    "statement_import",
]
