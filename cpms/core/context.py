"""Who is acting, from where: set once per request (middleware) or per command (CLI), read by
the audit trail so services never need the request object."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ActorContext:
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    # console | api | api:<token prefix> | cli | job | system; "api:<prefix>" names the API
    # token the call was made with (a signed-in session on the API is plain "api")
    channel: str = "system"
    token_id: int | None = None  # the ApiToken's id when the call came through one


_current: contextvars.ContextVar[ActorContext] = contextvars.ContextVar(
    "cpms_actor_context",
    default=ActorContext(),  # noqa: B039 (frozen dataclass)
)


def current() -> ActorContext:
    return _current.get()


@contextmanager
def acting(**fields: Any) -> Iterator[ActorContext]:
    """Set (part of) the context for the duration of the block."""
    token = _current.set(replace(_current.get(), **fields))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def annotate(**fields: Any) -> None:
    """Add to the context of the enclosing `acting` block (the request's, set by the
    middleware) once more is known, e.g. which API token authenticated the call. The block's
    exit restores what was there before it, so nothing leaks past the request."""
    _current.set(replace(_current.get(), **fields))
