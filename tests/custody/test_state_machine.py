"""The custody state machine: every event in every state, allowed or refused, exactly as the
table in cpms/custody/choices.py says; allowed steps write one event row and their audit
entries, refused ones change nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cpms.approvals.services import approval_approve
from cpms.audit.models import AuditEntry
from cpms.custody import services
from cpms.custody.choices import ITEM_STATES, CustodyEventKind, CustodyState
from cpms.custody.errors import TransitionRefused
from cpms.custody.models import CustodyEvent, CustodyItem
from cpms.holdings.models import Holding

TRANSITIONS = {
    event: (step.sources, step.target) for event, step in ITEM_STATES.transitions.items()
}
E = CustodyEventKind


def run(event: str, actor, item, checker) -> None:
    today = timezone.localdate()
    if event == E.PUT_AWAY:
        services.item_put_away(actor=actor, item=item, location="金库 B-09")
    elif event == E.CHECK_OUT:
        services.item_check_out(
            actor=actor,
            item=item,
            to_whom="评估师",
            purpose="估值",
            due_on=today + datetime.timedelta(days=2),
        )
    elif event == E.CHECK_IN:
        services.item_check_in(
            actor=actor, item=item, condition_grade="fair", condition_notes="划痕"
        )
    elif event == E.RETURN:
        services.item_return(actor=actor, item=item, collected_by="张三", id_checked=True)
    elif event == E.DISPOSE:
        request = services.item_dispose_request(
            actor=actor, item=item, consent_reference="CONSENT-1", method="回收", reason="书面同意"
        )
        approval_approve(actor=checker, request_id=request.pk, reason="ok")
    elif event == E.MOVE:
        services.item_move(actor=actor, item=item, location="金库 C-01")
    elif event == E.MARK_LOST:
        services.incident_open(actor=actor, item=item, kind="lost", description="找不到了")
    elif event == E.FOUND:
        services.item_found(actor=actor, item=item, location="金库 A-01")
    else:  # pragma: no cover
        raise AssertionError(event)


EXPECTED_AUDIT = {
    E.PUT_AWAY: ["custody.put_away"],
    E.CHECK_OUT: ["custody.checked_out"],
    E.CHECK_IN: ["custody.checked_in"],
    E.RETURN: ["custody.returned", "holding.status_changed"],
    E.DISPOSE: [
        "approval.requested",
        "approval.approved",
        "custody.disposed",
        "holding.status_changed",
        "approval.executed",
    ],
    E.MOVE: ["custody.moved"],
    E.MARK_LOST: ["custody.incident_opened"],
    E.FOUND: ["custody.found"],
}


def test_table_covers_every_event_but_intake():
    assert set(TRANSITIONS) == set(E.values) - {E.RECEIVE}


@pytest.mark.parametrize("event", list(TRANSITIONS))
def test_transition__every_state(event, item_in, rm1, checker, audit_log):
    """One test per event (database setup is shared); inside it, the event is tried from every
    state: allowed where the table says so, refused (nothing changes) everywhere else."""
    sources, target_state = TRANSITIONS[event]
    for state in CustodyState.values:
        item = item_in(state)
        assert item.state == state
        events_before = CustodyEvent.objects.filter(item=item).count()
        audit_log.mark()
        if state not in sources:
            entries = AuditEntry.objects.exclude(action="access.denied").count()
            with pytest.raises(TransitionRefused) as refused:
                run(event, rm1, item, checker)
            assert refused.value.code == "custody.transition_refused", (event, state)
            assert CustodyItem.objects.get(pk=item.pk).state == state
            assert CustodyEvent.objects.filter(item=item).count() == events_before
            assert AuditEntry.objects.exclude(action="access.denied").count() == entries, (
                event,
                state,
            )
            continue
        run(event, rm1, item, checker)
        item.refresh_from_db()
        target = target_state or state
        assert item.state == target, (event, state)
        last = CustodyEvent.objects.filter(item=item).order_by("-pk").first()
        assert (last.kind, last.from_state, last.to_state) == (event, state, target)
        assert CustodyEvent.objects.filter(item=item).count() == events_before + 1
        assert audit_log.actions() == EXPECTED_AUDIT[event], (event, state)
        holding = Holding.objects.get(pk=item.holding_id)
        expected_status = (
            target if target in (CustodyState.RETURNED, CustodyState.DISPOSED) else "active"
        )
        assert holding.status == expected_status
