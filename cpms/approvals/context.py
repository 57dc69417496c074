"""What a checker reads before deciding: a request described in business terms.

An operation registers `context=` next to `execute=` (see `registry`); the function builds an
`ApprovalContext` from the stored payload for the person looking at it:

    def transfer_context(payload, *, viewer) -> ApprovalContext: ...

Everything in it is already formatted text (names, "800,000.00 CNY", translated labels): the
templates print it as it is. A context never carries the raw payload, an internal id the reader
cannot use, an idempotency key or minor units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class CustomerBlock:
    """Who the request is about: name, customer number, masked ID number, risk rating; `url`
    only when the viewer may open the customer."""

    name: str
    customer_number: str
    masked_id: str = ""
    risk_rating: str = ""
    risk_code: str = ""
    role: str = ""
    url: str = ""


@dataclass(frozen=True)
class BalanceChange:
    """One account the operation moves: its balance now and after the request is approved."""

    account: str
    before: str
    after: str
    # what is wrong with "after" (it would go below zero, say): shown with the row, and gone
    # with it once the request is decided (then "now" is no longer "before")
    warning: str = ""


@dataclass(frozen=True)
class ApprovalContext:
    title: str
    rows: Sequence[Row] = ()
    customers: Sequence[CustomerBlock] = ()
    amount: str = ""
    balances: Sequence[BalanceChange] = ()
    warnings: Sequence[str] = ()
    # False: built from describe() because the operation has no context (or it failed)
    detailed: bool = True

    @property
    def customer(self) -> CustomerBlock | None:
        return self.customers[0] if self.customers else None

    def text_lines(self) -> list[str]:
        """The context as plain lines (e-mails, notifications): no masked ID, no balances, no
        links — the page behind the link shows those to whoever may open it."""
        lines = [self.title]
        if self.amount:
            lines.append(f"{_('Amount')}: {self.amount}")
        for customer in self.customers:
            name = f"{customer.name} ({customer.customer_number})"
            label = customer.role or _("Customer")
            lines.append(f"{label}: {name}")
        for row in self.rows:
            lines.append(f"{row.label}: {row.value}")
        for warning in self.warnings:
            lines.append(f"! {warning}")
        return lines


def rows(*pairs: tuple[Any, Any]) -> tuple[Row, ...]:
    """Rows from (label, value) pairs, leaving out empty values."""
    return tuple(Row(str(label), str(value)) for label, value in pairs if value not in (None, ""))
