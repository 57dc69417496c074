"""Purchase hooks: what other apps run when retail records a purchase or a return.

Retail (layer 10) must not import the apps above it, so an app that reacts to purchases
registers its handlers once at start-up, in its `AppConfig.ready()` (the same pattern as
approvals' executors):

    from cpms.retail import hooks

    hooks.register(
        "points",
        on_purchase_recorded=services.points_earn_for_purchase,  # (*, actor, purchase)
        on_return_recorded=services.points_reverse_for_return,   # (*, actor, purchase_return)
    )

`retail.services` calls the handlers inside the transaction that records the purchase or the
return, after its rows are written and before its audit entry, so anything a handler writes
shares the fate of the purchase or return: a handler that raises rolls everything back. The
purchase's own permission check (`retail.manage`) covers what the handlers write. Handlers run
in the order they were registered; their return values are ignored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PurchaseHandler = Callable[..., Any]
ReturnHandler = Callable[..., Any]


@dataclass(frozen=True)
class PurchaseHooks:
    name: str
    on_purchase_recorded: PurchaseHandler | None = None
    on_return_recorded: ReturnHandler | None = None


_HOOKS: dict[str, PurchaseHooks] = {}


def register(
    name: str,
    *,
    on_purchase_recorded: PurchaseHandler | None = None,
    on_return_recorded: ReturnHandler | None = None,
    replace: bool = False,
) -> PurchaseHooks:
    """Register the handlers of `name` (the registering app's label). Registering the same
    handlers again changes nothing (a second `ready()`); different handlers under a name that
    already has some are refused unless `replace=True` (tests use that)."""
    if not name:
        raise ValueError("purchase hooks need a name (the registering app's label)")
    hooks = PurchaseHooks(
        name=name,
        on_purchase_recorded=on_purchase_recorded,
        on_return_recorded=on_return_recorded,
    )
    existing = _HOOKS.get(name)
    if existing is not None and existing != hooks and not replace:
        raise ValueError(f"purchase hooks are already registered for {name!r}")
    _HOOKS[name] = hooks
    return hooks


def unregister(name: str) -> None:
    _HOOKS.pop(name, None)


def registered() -> list[PurchaseHooks]:
    """The registered hooks, in the order they run."""
    return list(_HOOKS.values())


def purchase_recorded(*, actor: Any, purchase: Any) -> None:
    """Called once per recorded purchase, in its transaction, with the saved purchase (its
    lines written) and the acting user."""
    for hooks in registered():
        if hooks.on_purchase_recorded is not None:
            hooks.on_purchase_recorded(actor=actor, purchase=purchase)


def return_recorded(*, actor: Any, purchase_return: Any) -> None:
    """Called once per recorded return or exchange, in its transaction, with the saved return
    (its lines written) and the acting user."""
    for hooks in registered():
        if hooks.on_return_recorded is not None:
            hooks.on_return_recorded(actor=actor, purchase_return=purchase_return)
