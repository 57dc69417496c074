"""Every write of the property register. Each function checks the actor's permission and the
owner customer's scope, validates, writes and records its audit entry in one transaction.

Kind-specific details (schemas.DETAIL_SCHEMAS) are written with the holding in the same
transaction; an account number is encrypted with the owner customer's data key and
blind-indexed (`privacy.services.pii_assign`); a loan's repayment schedule is regenerated
whenever its terms change (`loans.schedule`).

Sub-modules by sub-domain: `register` (registration), `update` (changes and status),
`valuation`, `schedule` (loan schedule refresh), `positions` (portfolio positions), `prices`
(price import), `custody_state` (the holding side of the custody lifecycle); `_details` and
`_common` are shared helpers. Callers outside the app import from here."""

from cpms.holdings.services._common import CLOSED_STATUSES, OBJECT_TYPE, PRICE_OBJECT_TYPE
from cpms.holdings.services._details import account_identifier, details_snapshot
from cpms.holdings.services.custody_state import (
    holding_custody_place,
    holding_custody_status_set,
)
from cpms.holdings.services.positions import position_add, position_change, position_remove
from cpms.holdings.services.prices import PriceImportReport, prices_import
from cpms.holdings.services.register import holding_register
from cpms.holdings.services.schedule import loan_schedule_generate
from cpms.holdings.services.update import holding_status_change, holding_update
from cpms.holdings.services.valuation import holding_revalue

__all__ = [
    "CLOSED_STATUSES",
    "OBJECT_TYPE",
    "PRICE_OBJECT_TYPE",
    "PriceImportReport",
    "account_identifier",
    "details_snapshot",
    "holding_custody_place",
    "holding_custody_status_set",
    "holding_register",
    "holding_revalue",
    "holding_status_change",
    "holding_update",
    "loan_schedule_generate",
    "position_add",
    "position_change",
    "position_remove",
    "prices_import",
]
