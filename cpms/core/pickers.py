"""Type-ahead pickers: staff pick people and things by name, never by internal ID.

A domain app registers, in its `AppConfig.ready()`, a search for each kind of thing it owns:

    from cpms.core import pickers

    pickers.register("customer", search=_search_customers)

`search(*, user, q, extra) -> Iterable[Option]` returns at most `pickers.LIMIT` options the user
may see (the app's scoped selector, so the picker never reveals what is out of scope); `extra` is
a dict of string filters the form put on the widget (a currency, a customer). The console serves
`GET /pick/<kind>/?q=…` (cpms.core.picker_views) and forms use `cpms.core.forms.PickerField`,
whose queryset, scoped the same way, is what validates the submitted value."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LIMIT = 20


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    detail: str = ""


Search = Callable[..., Iterable[Option]]
_SEARCHES: dict[str, Search] = {}


def register(kind: str, *, search: Search, replace: bool = False) -> None:
    if kind in _SEARCHES and _SEARCHES[kind] is not search and not replace:
        raise ValueError(f"a picker is already registered for {kind!r}")
    _SEARCHES[kind] = search


def kinds() -> tuple[str, ...]:
    return tuple(sorted(_SEARCHES))


def search(kind: str, *, user: Any, q: str, extra: Mapping[str, str] | None = None) -> list[Option]:
    """Options for `q`; LookupError when no picker has that kind."""
    finder = _SEARCHES.get(kind)
    if finder is None:
        raise LookupError(kind)
    q = (q or "").strip()[:100]
    return list(finder(user=user, q=q, extra=dict(extra or {})))[:LIMIT]
