"""How alike two customers' names are, for the possible-duplicate check at registration, without
the customers app importing the data-quality app (a higher layer) that owns the matching.

The data-quality app registers its matcher in `QualityConfig.ready()`:

    from cpms.customers.name_matching import register_name_matcher

    register_name_matcher(matching.name_matcher)

A matcher takes the new customer's legal name and name pinyin (and whether it is an
organisation) and returns a predicate `alike(other_legal_name, other_name_pinyin) -> bool`, so the
new name is prepared once and compared with every row of the block. Until one is registered,
names count as alike only when they are equal (ignoring case and surrounding spaces)."""

from __future__ import annotations

from collections.abc import Callable

Alike = Callable[[str, str], bool]
NameMatcher = Callable[..., Alike]

_MATCHER: list[NameMatcher] = []


def register_name_matcher(matcher: NameMatcher) -> None:
    """Make `matcher(legal_name, name_pinyin, *, organisation)` the one name matcher (a second
    registration replaces the first)."""
    _MATCHER[:] = [matcher]


def _equal_names(legal_name: str, name_pinyin: str, *, organisation: bool) -> Alike:
    """The fallback: the same name, case and surrounding spaces aside."""
    wanted = (legal_name or "").strip().casefold()
    return lambda other, _pinyin: bool(wanted) and (other or "").strip().casefold() == wanted


def name_matcher(legal_name: str, name_pinyin: str, *, organisation: bool) -> Alike:
    """The predicate telling which names count as alike to this one."""
    matcher = _MATCHER[0] if _MATCHER else _equal_names
    return matcher(legal_name, name_pinyin, organisation=organisation)
