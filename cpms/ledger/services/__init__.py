"""Every write of the ledger, by sub-domain: `accounts`, `transfers` (one, a batch, the API body,
`post_internal`), `files` (a file of transfers for the CLI), `holds` (and the maker-checker
executor and closer), `reversals`, `books` (period close, the recorded check) and
`statement_files` (the audited statement download). Each public function owns its
transaction, checks permission and scope, validates, posts through `ledger.engine` (the only
writer of transfers and balances) and records its audit entry in the same transaction.

Other domain services (points, loans, portfolios, reconciliation) post through `post_internal`
inside their own transaction and record their own audit entry."""

from cpms.ledger.services._shared import (
    ACCOUNT_OBJECT,
    APPROVAL_ACTION,
    TRANSFER_OBJECT,
    TransferOutcome,
    TransferSpec,
)
from cpms.ledger.services.accounts import (
    account_open,
    asset_get,
    customer_account,
    internal_account,
)
from cpms.ledger.services.books import AUDITED_PROBLEMS, ledger_check_record, period_close
from cpms.ledger.services.files import FilePosted, transfer_file_post
from cpms.ledger.services.holds import (
    describe_transfer,
    execute_approved_transfer,
    hold_post,
    hold_void,
    holds_expire,
    release_refused_transfer,
)
from cpms.ledger.services.reversals import transfer_reverse
from cpms.ledger.services.statement_files import STATEMENT_REVEAL_REASON, statement_export
from cpms.ledger.services.transfers import (
    MAX_REASON,
    post_internal,
    specs_from_input,
    transfer_post,
    transfer_request_post,
    transfers_post,
)

__all__ = [
    "ACCOUNT_OBJECT",
    "APPROVAL_ACTION",
    "AUDITED_PROBLEMS",
    "MAX_REASON",
    "STATEMENT_REVEAL_REASON",
    "TRANSFER_OBJECT",
    "FilePosted",
    "TransferOutcome",
    "TransferSpec",
    "account_open",
    "asset_get",
    "customer_account",
    "describe_transfer",
    "execute_approved_transfer",
    "hold_post",
    "hold_void",
    "holds_expire",
    "internal_account",
    "ledger_check_record",
    "period_close",
    "post_internal",
    "release_refused_transfer",
    "specs_from_input",
    "statement_export",
    "transfer_file_post",
    "transfer_post",
    "transfer_request_post",
    "transfer_reverse",
    "transfers_post",
]
