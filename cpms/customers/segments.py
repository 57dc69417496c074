"""Customer segments. The stored value stays the plain English key (the API, imports and
filters use it); people see its translated label. A value outside this list (entered through
the API or an import) is shown as it was entered."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

SEGMENTS = {
    # financial services
    "private banking": gettext_lazy("Private banking"),
    "wealth": gettext_lazy("Wealth management"),
    "mass affluent": gettext_lazy("Mass affluent"),
    "corporate": gettext_lazy("Corporate"),
    # retail
    "member": gettext_lazy("Member"),
    "silver member": gettext_lazy("Silver member"),
    "gold member": gettext_lazy("Gold member"),
    "corporate buyer": gettext_lazy("Corporate buyer"),
}


def segment_label(value: str | None) -> str:
    """The label of a segment in the reader's language ("" for none)."""
    if not value:
        return ""
    label = SEGMENTS.get(value.strip().lower())
    return str(label) if label is not None else value


def segment_choices(current: str = "") -> list[tuple[str, str]]:
    """(value, label) of the known segments, plus the current value if it is not one of them
    (so an edit keeps it)."""
    choices = [(value, str(label)) for value, label in SEGMENTS.items()]
    if current and current.strip().lower() not in SEGMENTS:
        choices.append((current, current))
    return choices
