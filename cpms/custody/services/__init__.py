"""Every write of the custody lifecycle. Each function checks `custody.operate`, locks the item
(through scope: out-of-scope items answer 404), checks the step against `choices.ITEM_STATES`,
writes an append-only `CustodyEvent` and its audit entry, all in one transaction. Terminal
states also set the holding's status (audited as `holding.status_changed`) through the
holdings services, which alone write `Holding`. Disposal goes through maker-checker
(`holdings.dispose`).

Sub-modules by sub-domain: `intake`, `movement` (check-out/in, return, moves, found, overdue
check-outs), `disposal`, `photos` (photos and the receipt), `incidents`, `stocktake`; shared
helpers in `_common`. Callers outside the package import from here."""

from cpms.custody.services._common import (
    DISPOSE_ACTION,
    INCIDENT_OBJECT,
    ITEM_OBJECT,
    MAX_TEXT,
    STOCKTAKE_OBJECT,
)
from cpms.custody.services.disposal import (
    item_dispose_describe,
    item_dispose_execute,
    item_dispose_request,
)
from cpms.custody.services.incidents import (
    incident_close,
    incident_notify,
    incident_notify_pending,
    incident_open,
    incident_response_record,
)
from cpms.custody.services.intake import item_put_away, item_receive
from cpms.custody.services.movement import (
    checkout_overdue_flag,
    item_check_in,
    item_check_out,
    item_found,
    item_move,
    item_return,
)
from cpms.custody.services.photos import PHOTO_FORMATS, photo_add, receipt_issue
from cpms.custody.services.stocktake import stocktake_close, stocktake_count, stocktake_start

__all__ = [
    "DISPOSE_ACTION",
    "INCIDENT_OBJECT",
    "ITEM_OBJECT",
    "MAX_TEXT",
    "PHOTO_FORMATS",
    "STOCKTAKE_OBJECT",
    "checkout_overdue_flag",
    "incident_close",
    "incident_notify",
    "incident_notify_pending",
    "incident_open",
    "incident_response_record",
    "item_check_in",
    "item_check_out",
    "item_dispose_describe",
    "item_dispose_execute",
    "item_dispose_request",
    "item_found",
    "item_move",
    "item_put_away",
    "item_receive",
    "item_return",
    "photo_add",
    "receipt_issue",
    "stocktake_close",
    "stocktake_count",
    "stocktake_start",
]
