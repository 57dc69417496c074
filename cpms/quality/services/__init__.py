"""Every write of the data-quality app, by sub-domain:

- `scan`: the duplicate scan;
- `review`: dismissing a possible duplicate;
- `merge`: merge requests, the executor of the approved `customers.merge` request and the merge
  itself (the customers' rows through `customers.services.customer_merge_apply`);
- `summary`: the nightly summary.

Each public function checks the actor, owns its transaction and records its audit entries inside
it. `actor=None` is the system (the nightly job, `cpms quality` without `--actor`)."""

from cpms.customers.services import register_clash_rule
from cpms.quality.services._common import (
    CANDIDATE_OBJECT,
    CUSTOMER_OBJECT,
    MAX_REASON,
    MERGE_ACTION,
    REVIEW_PERMISSION,
    SUMMARY_OBJECT,
)
from cpms.quality.services.merge import (
    MergeOutcome,
    customers_merge_describe,
    customers_merge_execute,
    customers_merge_request,
)
from cpms.quality.services.review import candidate_dismiss
from cpms.quality.services.scan import ScanReport, duplicate_scan
from cpms.quality.services.summary import quality_nightly, quality_summary_write

__all__ = [
    "CANDIDATE_OBJECT",
    "CUSTOMER_OBJECT",
    "MAX_REASON",
    "MERGE_ACTION",
    "REVIEW_PERMISSION",
    "SUMMARY_OBJECT",
    "MergeOutcome",
    "ScanReport",
    "candidate_dismiss",
    "customers_merge_describe",
    "customers_merge_execute",
    "customers_merge_request",
    "duplicate_scan",
    "quality_nightly",
    "quality_summary_write",
    "register_clash_rule",
]
