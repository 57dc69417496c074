"""Vocabularies of the custody lifecycle and its explicit state machine (ISO 9001:2015 8.5.3:
property belonging to customers). Values are stored: never rename one."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.transitions import StateMachine, Transition


class CustodyCategory(models.TextChoices):
    CUSTOMER_MATERIAL = "customer_material", _("Customer-supplied material")
    EQUIPMENT_REPAIR = "equipment_repair", _("Equipment under repair")
    CONSIGNED = "consigned", _("Consigned goods")
    COLLATERAL = "collateral", _("Collateral")
    OTHER = "other", pgettext_lazy("custody category", "Other")


class ConditionGrade(models.TextChoices):
    NEW = "new", pgettext_lazy("condition", "New")
    GOOD = "good", pgettext_lazy("condition", "Good")
    FAIR = "fair", pgettext_lazy("condition", "Fair")
    POOR = "poor", pgettext_lazy("condition", "Poor")
    DAMAGED = "damaged", pgettext_lazy("condition", "Damaged")


class CustodyState(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("custody state", "Received")
    IN_CUSTODY = "in_custody", pgettext_lazy("custody state", "In custody")
    CHECKED_OUT = "checked_out", pgettext_lazy("custody state", "Checked out")
    LOST = "lost", pgettext_lazy("custody state", "Lost")
    RETURNED = "returned", pgettext_lazy("custody state", "Returned to the customer")
    DISPOSED = "disposed", pgettext_lazy("custody state", "Disposed of")


class CustodyEventKind(models.TextChoices):
    RECEIVE = "receive", _("Received (intake)")
    PUT_AWAY = "put_away", _("Put away")
    CHECK_OUT = "check_out", _("Checked out")
    CHECK_IN = "check_in", _("Back in custody")
    RETURN = "return", _("Returned to the customer")
    DISPOSE = "dispose", _("Disposed of")
    MOVE = "move", _("Moved")
    MARK_LOST = "mark_lost", _("Reported lost")
    FOUND = "found", _("Found")


S = CustodyState
E = CustodyEventKind

# event, the states it may happen in, the state after (None = the state does not change).
# `receive` creates the item; every other event goes through this table and nothing else.
ITEM_STATES = StateMachine(
    "item in custody",
    (
        Transition(E.PUT_AWAY, frozenset({S.RECEIVED}), S.IN_CUSTODY),
        Transition(E.CHECK_OUT, frozenset({S.IN_CUSTODY}), S.CHECKED_OUT),
        Transition(E.CHECK_IN, frozenset({S.CHECKED_OUT}), S.IN_CUSTODY),
        Transition(E.RETURN, frozenset({S.RECEIVED, S.IN_CUSTODY}), S.RETURNED),
        Transition(E.DISPOSE, frozenset({S.IN_CUSTODY}), S.DISPOSED),
        Transition(E.MOVE, frozenset({S.RECEIVED, S.IN_CUSTODY}), None),
        Transition(E.MARK_LOST, frozenset({S.RECEIVED, S.IN_CUSTODY, S.CHECKED_OUT}), S.LOST),
        Transition(E.FOUND, frozenset({S.LOST}), S.IN_CUSTODY),
    ),
    field="state",
)
TERMINAL_STATES = frozenset({S.RETURNED, S.DISPOSED})
# states in which an item is expected on its shelf (stocktakes count these)
ON_SHELF_STATES = frozenset({S.RECEIVED, S.IN_CUSTODY})


def allowed_events(state: str) -> list[str]:
    return ITEM_STATES.events(state)


class PhotoStage(models.TextChoices):
    INTAKE = "intake", _("Intake")
    RETURN = "return", pgettext_lazy("photo stage", "Return")
    INCIDENT = "incident", _("Incident")
    OTHER = "other", pgettext_lazy("photo stage", "Other")


class IncidentKind(models.TextChoices):
    LOST = "lost", pgettext_lazy("incident", "Lost")
    DAMAGED = "damaged", pgettext_lazy("incident", "Damaged")
    UNSUITABLE = "unsuitable", pgettext_lazy("incident", "Unsuitable for use")
    MISSING = "missing", pgettext_lazy("incident", "Missing at stocktake")


# incident kinds that mean the item is not where it should be: the item becomes LOST
LOSS_KINDS = frozenset({IncidentKind.LOST, IncidentKind.MISSING})


class IncidentStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("incident status", "Open")
    CLOSED = "closed", pgettext_lazy("incident status", "Closed")


class StocktakeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("stocktake status", "Open")
    CLOSED = "closed", pgettext_lazy("stocktake status", "Closed")


# incidents and stocktakes are opened once and closed once
INCIDENT_STATES = StateMachine.from_targets(
    "custody incident", {IncidentStatus.OPEN: (IncidentStatus.CLOSED,), IncidentStatus.CLOSED: ()}
)
STOCKTAKE_STATES = StateMachine.from_targets(
    "stocktake", {StocktakeStatus.OPEN: (StocktakeStatus.CLOSED,), StocktakeStatus.CLOSED: ()}
)


class CountResult(models.TextChoices):
    PENDING = "pending", pgettext_lazy("count", "Not counted")
    FOUND = "found", pgettext_lazy("count", "Found")
    MISSING = "missing", pgettext_lazy("count", "Missing")
