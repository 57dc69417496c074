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
    from cpms.users.models import User

    ids = {
        value
        for event in events
        for key, value in (event.details or {}).items()
        if key in PERSON_KEYS and isinstance(value, int)
    }
    if not ids:
        return {}
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids)}


def describe(event: Any, people: dict[int, str]) -> list[str]:
    """The sentences of one event (possibly none: the step says it all)."""
    details = dict(event.details or {}) if isinstance(event.details, dict) else {}
    lines: list[str] = []
    unknown = False

    def person(key: str) -> str:
        value = details.get(key)
        return people.get(value, _("a former member of staff")) if value else ""

    def text(key: str) -> str:
        value = details.get(key)
        return str(value).strip() if value not in (None, "") else ""

    kind = event.kind
    if kind == CustodyEventKind.RECEIVE:
        if text("category"):
            lines.append(
                _("Category: %(value)s") % {"value": _label(CustodyCategory, text("category"))}
            )
        if text("serial"):
            lines.append(_("Serial number: %(value)s") % {"value": text("serial")})
        if text("condition_grade"):
            lines.append(
                _("Condition: %(value)s")
                % {"value": _label(ConditionGrade, text("condition_grade"))}
            )
        if text("location"):
            lines.append(_("Storage location: %(location)s") % {"location": text("location")})
        if details.get("custodian_id"):
            lines.append(_("Custodian: %(name)s") % {"name": person("custodian_id")})
        handled = {"category", "serial", "condition_grade", "location", "custodian_id"}
    elif kind == CustodyEventKind.CHECK_OUT:
        lines.append(
            _("Checked out to %(whom)s for %(purpose)s, due back on %(date)s")
            % {"whom": text("to_whom"), "purpose": text("purpose"), "date": _date(text("due_on"))}
        )
        handled = {"to_whom", "purpose", "due_on"}
    elif kind == CustodyEventKind.CHECK_IN:
        if text("checked_out_to"):
            lines.append(_("Brought back from %(whom)s") % {"whom": text("checked_out_to")})
        if details.get("late") is True and text("due_on"):
            lines.append(_("Back late: it was due on %(date)s") % {"date": _date(text("due_on"))})
        before, after = text("condition_before"), text("condition_grade")
        if before and after and before != after:
            lines.append(
                _("Condition changed: %(before)s → %(after)s")
                % {"before": _label(ConditionGrade, before), "after": _label(ConditionGrade, after)}
            )
        elif after:
            lines.append(_("Condition: %(value)s") % {"value": _label(ConditionGrade, after)})
        if text("condition_notes"):
            lines.append(_("Condition notes: %(value)s") % {"value": text("condition_notes")})
        if text("location"):
            lines.append(_("Storage location: %(location)s") % {"location": text("location")})
        handled = {
            "checked_out_to", "due_on", "late", "condition_before", "condition_grade",
            "condition_notes", "location",
        }  # fmt: skip
    elif kind == CustodyEventKind.RETURN:
        if details.get("id_checked"):
            lines.append(
                _("Collected by %(name)s (identity document checked)")
                % {"name": text("collected_by")}
            )
        else:
            lines.append(_("Collected by %(name)s") % {"name": text("collected_by")})
        if text("condition_grade"):
            lines.append(
                _("Condition: %(value)s")
                % {"value": _label(ConditionGrade, text("condition_grade"))}
            )
        handled = {"collected_by", "condition_grade"}
    elif kind == CustodyEventKind.MOVE:
        before, after = text("from_location"), text("location")
        if before and before != after:
            lines.append(
                _("Storage location changed: %(before)s → %(after)s")
                % {"before": before, "after": after}
            )
        elif after:
            lines.append(_("Storage location: %(location)s") % {"location": after})
        if details.get("custodian_id"):
            if (
                details.get("from_custodian_id")
                and details["from_custodian_id"] != details["custodian_id"]
            ):
                lines.append(
                    _("Custodian changed: %(before)s → %(after)s")
                    % {"before": person("from_custodian_id"), "after": person("custodian_id")}
                )
            else:
                lines.append(_("Custodian: %(name)s") % {"name": person("custodian_id")})
        handled = {"from_location", "location", "custodian_id", "from_custodian_id"}
    elif kind in (CustodyEventKind.PUT_AWAY, CustodyEventKind.FOUND):
        if text("location"):
            lines.append(_("Storage location: %(location)s") % {"location": text("location")})
        handled = {"location"}
    elif kind == CustodyEventKind.DISPOSE:
        if text("method"):
            lines.append(_("Method of disposal: %(value)s") % {"value": text("method")})
        if text("consent_reference"):
            lines.append(
                _("Customer's written consent: %(value)s") % {"value": text("consent_reference")}
            )
        if details.get("approved_by_id"):
            lines.append(_("Approved by %(name)s") % {"name": person("approved_by_id")})
        handled = {"method", "consent_reference", "approved_by_id"}
    elif kind == CustodyEventKind.MARK_LOST:
        if text("incident_kind"):
            lines.append(
                _("Incident reported: %(kind)s")
                % {"kind": _label(IncidentKind, text("incident_kind"))}
            )
        handled = {"incident_kind"}
    else:
        handled = set()
    if text("note"):
        lines.append(_("Note: %(value)s") % {"value": text("note")})
    handled.add("note")
    for key, value in details.items():
        if key in handled or key in SILENT_KEYS or value in (None, "", False):
            continue
        unknown = True
    if unknown:
        lines.append(_("Other details changed."))
    return lines


def timeline(events: Iterable[Any]) -> list[TimelineEntry]:
    events = list(events)
    people = _people(events)
    return [TimelineEntry(event=event, lines=describe(event, people)) for event in events]
