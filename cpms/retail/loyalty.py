"""The seam where loyalty points will be posted (the ledger issue).

`retail.services` calls these functions inside the transaction that records a purchase or a
return, after the rows are written and before the audit entry. Today they do nothing. The ledger
will post points for a purchase here and reverse the points of the returned units; anything it
writes then shares the fate of the purchase (a refusal or a rollback posts nothing). Keep the
signatures: the callers pass the saved rows and the acting user."""

from __future__ import annotations

from typing import Any


def points_post_for_purchase(*, actor: Any, purchase: Any) -> None:
    """Called once per recorded purchase, in its transaction. No points posted yet."""
    return None


def points_reverse_for_return(*, actor: Any, purchase_return: Any) -> None:
    """Called once per recorded return or exchange, in its transaction. Nothing reversed yet."""
    return None
