"""Every write of loan servicing, by step of a loan's life: `disbursement`, `accrual`,
`repayment` (and early repayment); `_shared` holds what they share. Each function checks
`ledger.post` and the loan's customer scope, owns its transaction, locks the loan's servicing
row, posts through `ledger.services.post_internal` (linked transfers, all-or-nothing,
deterministic idempotency keys) and records its audit entry in the same transaction.

Conventions:
- Interest accrues per day on the principal outstanding at the end of the previous day
  (actual/365): a loan disbursed on 1 January and repaid on 31 January accrues 30 days.
- Accruing "through D" covers the days after the last accrual up to and including D; the run is
  split at instalment due dates, one ledger transfer per part with the key
  `loan:<holding id>:accrue:<date>` (a replay posts nothing).
- A repayment first accrues through its value date, then pays accrued interest (oldest period
  first), then principal of instalments already due, then (when `prepay` is allowed) principal
  not yet due, instalment by instalment. More than that is refused (`loans.overpayment`).
- Value dates may not go back before the last accrual or repayment (`loans.backdated`) nor
  into the future."""

from cpms.loans.services._shared import OBJECT_TYPE, Outcome
from cpms.loans.services.accrual import loan_accrue, loans_accrue
from cpms.loans.services.disbursement import loan_disburse
from cpms.loans.services.repayment import (
    early_repayment_fee_bps,
    ledger_conflict,
    loan_repay,
    loan_repay_early,
)

__all__ = [
    "OBJECT_TYPE",
    "Outcome",
    "early_repayment_fee_bps",
    "ledger_conflict",
    "loan_accrue",
    "loan_disburse",
    "loan_repay",
    "loan_repay_early",
    "loans_accrue",
]
