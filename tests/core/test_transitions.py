"""The one state-machine shape (cpms/core/transitions.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cpms.core.transitions import StateMachine, Transition, TransitionRefused

ITEM = StateMachine(
    "item",
    [
        Transition("put_away", frozenset({"received"}), "stored"),
        Transition("move", frozenset({"received", "stored"}), None),
        Transition("return", frozenset({"received", "stored"}), "returned"),
    ],
    field="state",
)
ACCOUNT = StateMachine.from_targets(
    "account",
    {"active": ("dormant", "closed"), "dormant": ("active", "closed"), "closed": ()},
)


def test_events_and_targets_follow_the_table_in_order():
    assert ITEM.events("received") == ["put_away", "move", "return"]
    assert ITEM.events("stored") == ["move", "return"]
    assert ITEM.targets("received") == ("stored", "returned")
    assert ITEM.is_terminal("returned")
    assert ACCOUNT.targets("active") == ("dormant", "closed")
    assert ACCOUNT.targets("closed") == ()
    assert ACCOUNT.states == {"active", "dormant", "closed"}


def test_step_returns_the_next_state_and_an_event_without_target_keeps_it():
    assert ITEM.step("received", "put_away") == "stored"
    assert ITEM.step("stored", "move") == "stored"
    assert ACCOUNT.step("dormant", "active") == "active"


@pytest.mark.parametrize(
    ("machine", "state", "event"),
    [
        (ITEM, "returned", "move"),  # a final state
        (ITEM, "stored", "put_away"),  # not from this state
        (ITEM, "stored", "fly"),  # no such event
        (ACCOUNT, "closed", "active"),
        (ACCOUNT, "active", "active"),  # staying is not a move
    ],
)
def test_a_step_outside_the_table_is_refused_and_changes_nothing(machine, state, event):
    row = SimpleNamespace(**{machine.field: state})
    assert not machine.allows(state, event)
    with pytest.raises(TransitionRefused) as refused:
        machine.move(row, event)
    assert getattr(row, machine.field) == state
    assert (refused.value.machine, refused.value.state, refused.value.event) == (
        machine.name,
        state,
        event,
    )


def test_move_sets_the_field_and_returns_the_state_before():
    row = SimpleNamespace(status="active")
    assert ACCOUNT.move(row, "dormant") == "active"
    assert row.status == "dormant"


def test_an_event_declared_twice_is_a_programming_error():
    with pytest.raises(ValueError, match="declared twice"):
        StateMachine("x", [Transition("a", frozenset({"s"}), "t")] * 2)


def test_move_rows_needs_an_event_that_changes_the_state():
    with pytest.raises(ValueError, match="does not move rows"):
        ITEM.move_rows(None, "move")
