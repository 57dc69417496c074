"""Who is acting, from where: set once per request (middleware) or per command (CLI), read by
the audit trail so services never need the request object."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ActorContext:
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    channel: str = "system"  # console | api | cli | job | system


_current: contextvars.ContextVar[ActorContext] = contextvars.ContextVar(
    "cpms_actor_context",
    default=ActorContext(),  # noqa: B039 (frozen dataclass)
)


def current() -> ActorContext:
    return _current.get()


@contextmanager
def acting(**fields: str) -> Iterator[ActorContext]:
    """Set (part of) the context for the duration of the block."""
    token = _current.set(replace(_current.get(), **fields))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
