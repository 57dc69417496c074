"""Who hears about approval requests.

Approvals sits below notifications (which needs the access layer to find the checkers), so it
cannot send notices itself: apps above it subscribe here when they start, the same registry
pattern as the executors in `registry.py`. Notifications subscribes its in-app and e-mail
notices (`notifications.approval_notices`). Listeners run in the caller's transaction; the
services wrap each event in a savepoint, so a failing listener never undoes a request or a
decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# awaiting_decision(request, *, actor, approvals): submitted, or approved but needing another
# decided(request, *, actor): approved, rejected, cancelled or expired (tell the maker)


@dataclass(frozen=True)
class Listener:
    awaiting_decision: Callable[..., Any] | None = None
    decided: Callable[..., Any] | None = None


_LISTENERS: list[Listener] = []


def subscribe(
    *,
    awaiting_decision: Callable[..., Any] | None = None,
    decided: Callable[..., Any] | None = None,
) -> None:
    listener = Listener(awaiting_decision=awaiting_decision, decided=decided)
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def awaiting_decision(request: Any, *, actor: Any, approvals: int = 0) -> None:
    for listener in _LISTENERS:
        if listener.awaiting_decision is not None:
            listener.awaiting_decision(request, actor=actor, approvals=approvals)


def decided(request: Any, *, actor: Any) -> None:
    for listener in _LISTENERS:
        if listener.decided is not None:
            listener.decided(request, actor=actor)
