"""API token scopes: "<area>:read" or "<area>:write", area from `core.permissions.AREAS` or
"*" for every area. Write implies read. Pure functions, no database."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed
from cpms.core.permissions import AREAS

WILDCARD = "*"
LEVELS = ("read", "write")
DEFAULT_SCOPES: tuple[str, ...] = ("*:read",)


def scope_choices() -> list[str]:
    """Every valid scope, wildcard first (for forms and documentation)."""
    return [f"{area}:{level}" for area in (WILDCARD, *AREAS) for level in LEVELS]


def scopes_normalise(scopes: Iterable[str] | None) -> list[str]:
    """Validated, de-duplicated, sorted scopes; the default when none are given."""
    if scopes is None:
        return list(DEFAULT_SCOPES)
    cleaned: set[str] = set()
    bad: list[str] = []
    for raw in scopes:
        scope = str(raw).strip().lower()
        area, _sep, level = scope.partition(":")
        if level not in LEVELS or (area != WILDCARD and area not in AREAS):
            bad.append(str(raw))
        else:
            cleaned.add(scope)
    if bad:
        raise ValidationFailed(
            fields={
                "scopes": _(
                    "Unknown scope: %(scopes)s. Use AREA:read or AREA:write, AREA one of %(areas)s."
                )
                % {"scopes": ", ".join(bad), "areas": ", ".join((WILDCARD, *AREAS))}
            }
        )
    if not cleaned:
        return list(DEFAULT_SCOPES)
    return sorted(cleaned)


def scopes_allow(scopes: Iterable[str], area: str, *, write: bool = False) -> bool:
    wanted = {"write"} if write else {"read", "write"}
    for scope in scopes:
        scope_area, _sep, level = scope.partition(":")
        if scope_area in (WILDCARD, area) and level in wanted:
            return True
    return False


def scopes_cover(held: Iterable[str], requested: Iterable[str]) -> bool:
    """Whether a token holding `held` may mint one with `requested` (never more than it has)."""
    held = list(held)
    for scope in requested:
        area, _sep, level = scope.partition(":")
        write = level == "write"
        if area == WILDCARD:
            # "*" grows with every new area, so only a wildcard of the same level covers it
            enough = {f"{WILDCARD}:write"} if write else {f"{WILDCARD}:read", f"{WILDCARD}:write"}
            if not enough & set(held):
                return False
        elif not scopes_allow(held, area, write=write):
            return False
    return True
