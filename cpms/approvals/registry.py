"""Deferred operations by action code.

A domain app registers, once at start-up (its `AppConfig.ready()`), what to run when a request
for its action is approved:

    from cpms.approvals import registry

    registry.register(
        "access.role_grant",
        execute=_execute_role_grant,   # (*, request, actor) -> dict (JSON)
        describe=_describe_role_grant, # (payload) -> str, shown in the inbox
        context=role_grant_context,    # (payload, *, viewer) -> ApprovalContext, optional
    )

`execute` runs inside the transaction of the final approval: when it raises, the approval and
everything the operation wrote are rolled back together. `on_close` (optional) runs inside the
transaction that rejects, cancels or expires a request, so an operation that reserved
something when it was submitted (a ledger hold) can release it:
`on_close(*, request, actor, status) -> None`.

`context` (optional, in the owning app's `approval_context.py`) tells a checker what they are
deciding in business terms (see `cpms.approvals.context`); without one, the approval pages show
the `describe()` text, never the payload.
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
ContextBuilder = Callable[..., Any]


@dataclass(frozen=True)
class Operation:
    action: str
    execute: Executor
    describe: Describer | None = None
    on_close: Closer | None = None
    context: ContextBuilder | None = None


_OPERATIONS: dict[str, Operation] = {}


def register(
    action: str,
    *,
    execute: Executor,
    describe: Describer | None = None,
    on_close: Closer | None = None,
    context: ContextBuilder | None = None,
    replace: bool = False,
) -> Operation:
    """Register the executor of `action`. Registering a different executor for an action that
    already has one is refused unless `replace=True` (tests use that)."""
    if not action or "." not in action:
        raise ValueError(f"action codes look like 'area.verb', not {action!r}")
    operation = Operation(
        action=action, execute=execute, describe=describe, on_close=on_close, context=context
    )
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


def context(action: str, payload: Mapping[str, Any], *, viewer: Any = None) -> Any:
    """What a checker reads: the operation's own context for `viewer`, or (no context, or it
    failed) the describe() text as the title. Never the payload."""
    from cpms.approvals.context import ApprovalContext

    operation = _OPERATIONS.get(action)
    if operation is not None and operation.context is not None:
        try:
            built = operation.context(payload, viewer=viewer)
        except Exception:  # a broken context must not break the approval pages
            logger.exception("context() of %s failed", action)
        else:
            if isinstance(built, ApprovalContext):
                return built
    return ApprovalContext(title=_readable_description(action, payload), detailed=False)


def _readable_description(action: str, payload: Mapping[str, Any]) -> str:
    """describe() when there is one; otherwise the action's name (the payload's keys are the
    machinery's and are not shown to people)."""
    operation = _OPERATIONS.get(action)
    if operation is not None and operation.describe is not None:
        try:
            return str(operation.describe(payload))[:500]
        except Exception:
            logger.exception("describe() of %s failed", action)
    from cpms.approvals.choices import ApprovalAction

    return str(dict(ApprovalAction.choices).get(action, action))


def summary(action: str, payload: Mapping[str, Any]) -> str:
    """The one-line text stored with a request (inbox, API): the context's title when the
    operation has a context, else `describe()`."""
    operation = _OPERATIONS.get(action)
    if operation is not None and operation.context is not None:
        built = context(action, payload, viewer=None)
        if built.detailed and built.title:
            return str(built.title)[:500]
    return describe(action, payload)
