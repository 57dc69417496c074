"""Every write of loyalty points: earning on a purchase, reversal on a return, redemption,
expiry, adjustments through maker-checker, earn rules and tiers.

Accounting (asset PTS, whole points): earning and positive adjustments debit the internal
`points_issuance` account (debit-normal: points outstanding) and credit the customer's
`customer_points` account (credit-normal, never negative). Redemptions, return reversals and
negative adjustments post the other way. Expiry moves a lot's remainder from the customer to
`points_breakage` (credit-normal). Every posting is one ledger transfer (through
`ledger.services.post_internal`) with a deterministic idempotency key; its metadata names the
event (`points_event`) for the history.

Lots: every earn or positive adjustment creates a `PointsLot`; anything taking points out of
the customer's account writes `PointsLotUse` rows (FIFO by expiry, earliest first), so the
customer's balance always equals the sum of the remainders of their lots. Writes for one
customer are serialised by locking their `PointsMember` row.

Sub-modules by sub-domain: `tiers` (rule in force, tiers, member row), `earn`, `returns`
(reversal), `redeem`, `expiry`, `adjustments`, `rules`; shared helpers and the clock
(`_today`) in `_common`. Earning and reversal run through retail's purchase hooks, registered
in `PointsConfig.ready()`."""

from cpms.points.services._common import (
    CUSTOMER_OBJECT,
    LOT_OBJECT,
    RULE_OBJECT,
    add_months,
    lots_with_remaining,
)
from cpms.points.services.adjustments import (
    MAX_ADJUSTMENT,
    AdjustmentOutcome,
    describe_adjustment,
    execute_adjustment,
    points_adjust_request,
)
from cpms.points.services.earn import earn_points, points_earn_for_purchase
from cpms.points.services.expiry import points_expire
from cpms.points.services.redeem import Redemption, points_redeem
from cpms.points.services.returns import points_reverse_for_return
from cpms.points.services.rules import points_rule_save, rule_snapshot
from cpms.points.services.tiers import (
    SPEND_WINDOW,
    active_rule,
    rolling_spend,
    sorted_tiers,
    tier_for_spend,
)

__all__ = [
    "CUSTOMER_OBJECT",
    "LOT_OBJECT",
    "MAX_ADJUSTMENT",
    "RULE_OBJECT",
    "SPEND_WINDOW",
    "AdjustmentOutcome",
    "Redemption",
    "active_rule",
    "add_months",
    "describe_adjustment",
    "earn_points",
    "execute_adjustment",
    "lots_with_remaining",
    "points_adjust_request",
    "points_earn_for_purchase",
    "points_expire",
    "points_redeem",
    "points_reverse_for_return",
    "points_rule_save",
    "rolling_spend",
    "rule_snapshot",
    "sorted_tiers",
    "tier_for_spend",
]
