"""The seam where loyalty points are posted (issue 5, `cpms.points`).

`retail.services` calls these functions inside the transaction that records a purchase or a
return, after the rows are written and before the audit entry. A purchase earns points under
the active earn rule of its currency (a lot expiring after the rule's lifetime); a return or an
exchange takes back the points of the returned units, pro rata and exactly (see
`cpms.points.services`). Anything written here shares the fate of the purchase or return (a
refusal or a rollback posts nothing). The purchase's own permission check (`retail.manage`)
covers the points it earns. Keep the signatures: the callers pass the saved rows and the acting
user."""

from __future__ import annotations

from typing import Any


def points_post_for_purchase(*, actor: Any, purchase: Any) -> None:
    """Called once per recorded purchase, in its transaction: earn its points."""
    from cpms.points.services import points_earn_for_purchase

    points_earn_for_purchase(actor=actor, purchase=purchase)


def points_reverse_for_return(*, actor: Any, purchase_return: Any) -> None:
    """Called once per recorded return or exchange, in its transaction: reverse the points of
    the returned units (what the customer already spent is recorded as a shortfall)."""
    from cpms.points.services import points_reverse_for_return as reverse

    reverse(actor=actor, purchase_return=purchase_return)
