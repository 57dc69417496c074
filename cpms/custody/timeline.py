"""The custody timeline in words: each event kind and each changed field becomes a translated
sentence ("Custodian changed: 张三 → 李四", "Storage location: A-01-03") with people looked up
by name. Never a field name, an internal ID, a dict or a JSON payload: what is not understood
becomes a generic "details changed" line."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cpms.custody.choices import ConditionGrade, CustodyCategory, CustodyEventKind, IncidentKind
from cpms.users.models import User

# detail keys that carry a person (user id)
PERSON_KEYS = ("custodian_id", "from_custodian_id", "approved_by_id")
# detail keys that are bookkeeping, not news for a reader (the approval is linked elsewhere)
SILENT_KEYS = frozenset({"holding_number", "approval_id", "id_checked"})


@dataclass(frozen=True)
class TimelineEntry:
    event: Any
    lines: list[str]


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return _("(unknown)")


def _date(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.date):
        return date_format(value, "Y-m-d")
    return str(value)


def _people(events: Iterable[Any]) -> dict[int, str]:
    ids = {
        value
        for event in events
        for key, value in (event.details or {}).items()
        if key in PERSON_KEYS and isinstance(value, int)
    }
    if not ids:
        return {}
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids)}


class _Details:
    """An event's details as a reader sees them: trimmed text, people by name."""

    def __init__(self, details: dict[str, Any], people: dict[int, str]) -> None:
        self.details = details
        self.people = people

    def get(self, key: str) -> Any:
        return self.details.get(key)

    def text(self, key: str) -> str:
        value = self.details.get(key)
        return str(value).strip() if value not in (None, "") else ""

    def person(self, key: str) -> str:
        value = self.details.get(key)
        return self.people.get(value, _("a former member of staff")) if value else ""


# Each step below returns the sentences of one event kind and the detail keys it explained.
Described = tuple[list[str], set[str]]


def _received(d: _Details) -> Described:
    lines: list[str] = []
    if d.text("category"):
        lines.append(
            _("Category: %(value)s") % {"value": _label(CustodyCategory, d.text("category"))}
        )
    if d.text("serial"):
        lines.append(_("Serial number: %(value)s") % {"value": d.text("serial")})
    if d.text("condition_grade"):
        lines.append(
            _("Condition: %(value)s") % {"value": _label(ConditionGrade, d.text("condition_grade"))}
        )
    if d.text("location"):
        lines.append(_("Storage location: %(location)s") % {"location": d.text("location")})
    if d.get("custodian_id"):
        lines.append(_("Custodian: %(name)s") % {"name": d.person("custodian_id")})
    return lines, {"category", "serial", "condition_grade", "location", "custodian_id"}


def _checked_out(d: _Details) -> Described:
    line = _("Checked out to %(whom)s for %(purpose)s, due back on %(date)s") % {
        "whom": d.text("to_whom"),
        "purpose": d.text("purpose"),
        "date": _date(d.text("due_on")),
    }
    return [line], {"to_whom", "purpose", "due_on"}


def _checked_in(d: _Details) -> Described:
    lines: list[str] = []
    if d.text("checked_out_to"):
        lines.append(_("Brought back from %(whom)s") % {"whom": d.text("checked_out_to")})
    if d.get("late") is True and d.text("due_on"):
        lines.append(_("Back late: it was due on %(date)s") % {"date": _date(d.text("due_on"))})
    before, after = d.text("condition_before"), d.text("condition_grade")
    if before and after and before != after:
        lines.append(
            _("Condition changed: %(before)s → %(after)s")
            % {"before": _label(ConditionGrade, before), "after": _label(ConditionGrade, after)}
        )
    elif after:
        lines.append(_("Condition: %(value)s") % {"value": _label(ConditionGrade, after)})
    if d.text("condition_notes"):
        lines.append(_("Condition notes: %(value)s") % {"value": d.text("condition_notes")})
    if d.text("location"):
        lines.append(_("Storage location: %(location)s") % {"location": d.text("location")})
    return lines, {
        "checked_out_to", "due_on", "late", "condition_before", "condition_grade",
        "condition_notes", "location",
    }  # fmt: skip


def _returned(d: _Details) -> Described:
    if d.get("id_checked"):
        lines = [
            _("Collected by %(name)s (identity document checked)")
            % {"name": d.text("collected_by")}
        ]
    else:
        lines = [_("Collected by %(name)s") % {"name": d.text("collected_by")}]
    if d.text("condition_grade"):
        lines.append(
            _("Condition: %(value)s") % {"value": _label(ConditionGrade, d.text("condition_grade"))}
        )
    return lines, {"collected_by", "condition_grade"}


def _moved(d: _Details) -> Described:
    lines: list[str] = []
    before, after = d.text("from_location"), d.text("location")
    if before and before != after:
        lines.append(
            _("Storage location changed: %(before)s → %(after)s")
            % {"before": before, "after": after}
        )
    elif after:
        lines.append(_("Storage location: %(location)s") % {"location": after})
    if d.get("custodian_id"):
        if d.get("from_custodian_id") and d.get("from_custodian_id") != d.get("custodian_id"):
            lines.append(
                _("Custodian changed: %(before)s → %(after)s")
                % {"before": d.person("from_custodian_id"), "after": d.person("custodian_id")}
            )
        else:
            lines.append(_("Custodian: %(name)s") % {"name": d.person("custodian_id")})
    return lines, {"from_location", "location", "custodian_id", "from_custodian_id"}


def _shelved(d: _Details) -> Described:
    lines: list[str] = []
    if d.text("location"):
        lines.append(_("Storage location: %(location)s") % {"location": d.text("location")})
    return lines, {"location"}


def _disposed(d: _Details) -> Described:
    lines: list[str] = []
    if d.text("method"):
        lines.append(_("Method of disposal: %(value)s") % {"value": d.text("method")})
    if d.text("consent_reference"):
        lines.append(
            _("Customer's written consent: %(value)s") % {"value": d.text("consent_reference")}
        )
    if d.get("approved_by_id"):
        lines.append(_("Approved by %(name)s") % {"name": d.person("approved_by_id")})
    return lines, {"method", "consent_reference", "approved_by_id"}


def _marked_lost(d: _Details) -> Described:
    lines: list[str] = []
    if d.text("incident_kind"):
        lines.append(
            _("Incident reported: %(kind)s")
            % {"kind": _label(IncidentKind, d.text("incident_kind"))}
        )
    return lines, {"incident_kind"}


DESCRIBERS: dict[str, Any] = {
    CustodyEventKind.RECEIVE: _received,
    CustodyEventKind.CHECK_OUT: _checked_out,
    CustodyEventKind.CHECK_IN: _checked_in,
    CustodyEventKind.RETURN: _returned,
    CustodyEventKind.MOVE: _moved,
    CustodyEventKind.PUT_AWAY: _shelved,
    CustodyEventKind.FOUND: _shelved,
    CustodyEventKind.DISPOSE: _disposed,
    CustodyEventKind.MARK_LOST: _marked_lost,
}


def describe(event: Any, people: dict[int, str]) -> list[str]:
    """The sentences of one event (possibly none: the step says it all)."""
    details = dict(event.details or {}) if isinstance(event.details, dict) else {}
    d = _Details(details, people)
    step = DESCRIBERS.get(event.kind)
    lines, handled = step(d) if step is not None else ([], set())
    if d.text("note"):
        lines.append(_("Note: %(value)s") % {"value": d.text("note")})
    handled.add("note")
    unknown = any(
        key not in handled and key not in SILENT_KEYS and value not in (None, "", False)
        for key, value in details.items()
    )
    if unknown:
        lines.append(_("Other details changed."))
    return lines


def timeline(events: Iterable[Any]) -> list[TimelineEntry]:
    events = list(events)
    people = _people(events)
    return [TimelineEntry(event=event, lines=describe(event, people)) for event in events]
