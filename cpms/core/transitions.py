"""One shape for every state machine: a table of transitions as data.

A transition is (event, the states it may happen in, the state after it). Status machines
whose steps have no separate name use the target state as the event ("move to dormant").
The table answers what the console offers (`events`, `targets`), and `move` is the one way a
status changes on a row: it checks the step against the table and sets the field, so a status
never changes anywhere else (tests/test_architecture.py checks this over the code). Each app
turns `TransitionRefused` into its own error with its own message; the table is shared."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class TransitionRefused(ValueError):
    """The step is not in the table for the current state."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: {event!r} is not allowed in state {state!r}")
        self.machine = machine
        self.state = state
        self.event = event


@dataclass(frozen=True)
class Transition:
    event: str
    sources: frozenset[str]
    target: str | None  # None: the event does not change the state (e.g. moving a shelf)


class StateMachine:
    """A named table of transitions over one field of a model (`status` by default)."""

    def __init__(self, name: str, transitions: Iterable[Transition], *, field: str = "status"):
        self.name = name
        self.field = field
        self.transitions: dict[str, Transition] = {}
        for transition in transitions:
            if transition.event in self.transitions:
                raise ValueError(f"{name}: event {transition.event!r} declared twice")
            self.transitions[transition.event] = transition

    @classmethod
    def from_targets(
        cls, name: str, table: Mapping[str, Iterable[str]], *, field: str = "status"
    ) -> StateMachine:
        """A machine from "state -> states it may move to" (each target is its own event)."""
        sources: dict[str, set[str]] = {}
        order: list[str] = []
        for state, targets in table.items():
            for target in targets:
                if str(target) not in sources:
                    order.append(str(target))
                sources.setdefault(str(target), set()).add(str(state))
        machine = cls(
            name,
            (Transition(target, frozenset(sources[target]), target) for target in order),
            field=field,
        )
        machine._targets = {
            str(state): tuple(str(t) for t in targets) for state, targets in table.items()
        }
        return machine

    _targets: dict[str, tuple[str, ...]] | None = None

    @property
    def states(self) -> frozenset[str]:
        found: set[str] = set()
        for transition in self.transitions.values():
            found |= transition.sources
            if transition.target is not None:
                found.add(transition.target)
        return frozenset(found | set(self._targets or ()))

    def events(self, state: str) -> list[str]:
        """The events that may happen in `state`, in table order."""
        return [event for event, step in self.transitions.items() if str(state) in step.sources]

    def targets(self, state: str) -> tuple[str, ...]:
        """The states `state` may move to, in table order."""
        if self._targets is not None:
            return self._targets.get(str(state), ())
        seen: list[str] = []
        for event in self.events(state):
            target = self.transitions[event].target
            if target is not None and target not in seen:
                seen.append(target)
        return tuple(seen)

    def is_terminal(self, state: str) -> bool:
        return not self.events(state)

    def step(self, state: str, event: str) -> str:
        """The state after `event` happens in `state`; TransitionRefused when it may not."""
        transition = self.transitions.get(str(event))
        if transition is None or str(state) not in transition.sources:
            raise TransitionRefused(self.name, str(state), str(event))
        return transition.target if transition.target is not None else str(state)

    def allows(self, state: str, event: str) -> bool:
        transition = self.transitions.get(str(event))
        return transition is not None and str(state) in transition.sources

    def move(self, row: Any, event: str) -> str:
        """Apply `event` to `row` (checked against the table) and return the state before.
        The caller saves the row and writes the audit entry in its transaction."""
        before = getattr(row, self.field)
        setattr(row, self.field, self.step(before, event))
        return before

    def move_rows(self, queryset: Any, event: str, **values: Any) -> int:
        """Apply `event` to every row of `queryset` in a state it may happen in (one UPDATE, the
        other `values` set with it); rows in other states are left alone. Returns the count."""
        transition = self.transitions.get(str(event))
        if transition is None or transition.target is None:
            raise ValueError(f"{self.name}: {event!r} does not move rows to a new state")
        return queryset.filter(**{f"{self.field}__in": sorted(transition.sources)}).update(
            **{self.field: transition.target}, **values
        )
