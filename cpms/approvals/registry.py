"""Deferred operations by action code.

A domain app registers, once at start-up (its `AppConfig.ready()`), what to run when a request
for its action is approved:

    from cpms.approvals import registry

    registry.register(
        "access.role_grant",
        execute=_execute_role_grant,   # (*, request, actor) -> dict (JSON)
        describe=_describe_role_grant, # (payload) -> str, shown in the inbox
    )

`execute` runs inside the transaction of the final approval: when it raises, the approval and
everything the operation wrote are rolled back together. `on_close` (optional) runs inside the
transaction that rejects, cancels or expires a request, so an operation that reserved
something when it was submitted (a ledger hold) can release it:
`on_close(*, request, actor, status) -> None`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

Executor = Callable[..., Mapping[str, Any] | None]
Describer = Callable[[Mapping[str, Any]], str]
Closer = Callable[..., None]


@dataclass(frozen=True)
class Operation:
    action: str
    execute: Executor
    describe: Describer | None = None
    on_close: Closer | None = None


_OPERATIONS: dict[str, Operation] = {}


def register(
    action: str,
    *,
    execute: Executor,
    describe: Describer | None = None,
    on_close: Closer | None = None,
    replace: bool = False,
) -> Operation:
    """Register the executor of `action`. Registering a different executor for an action that
    already has one is refused unless `replace=True` (tests use that)."""
    if not action or "." not in action:
        raise ValueError(f"action codes look like 'area.verb', not {action!r}")
    operation = Operation(action=action, execute=execute, describe=describe, on_close=on_close)
    existing = _OPERATIONS.get(action)
    if existing is not None and existing != operation and not replace:
        raise ValueError(f"an operation is already registered for {action!r}")
    _OPERATIONS[action] = operation
    return operation


def unregister(action: str) -> None:
    _OPERATIONS.pop(action, None)


def get(action: str) -> Operation | None:
    return _OPERATIONS.get(action)


def registered_actions() -> tuple[str, ...]:
    return tuple(sorted(_OPERATIONS))


def describe(action: str, payload: Mapping[str, Any]) -> str:
    """The inbox text for a payload: the operation's own description, or a neutral fallback."""
    operation = _OPERATIONS.get(action)
    if operation is not None and operation.describe is not None:
        try:
            return str(operation.describe(payload))[:500]
        except Exception:  # a broken describer must not break the inbox
            logger.exception("describe() of %s failed", action)
    keys = ", ".join(sorted(str(key) for key in payload)[:10])
    return f"{action} ({keys})" if keys else action
