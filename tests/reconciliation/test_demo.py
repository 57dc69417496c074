"""The reconciliation demo: auto-matched statement with one break, idempotent."""

from __future__ import annotations

import random

import pytest

from cpms.reconciliation import demo
from cpms.reconciliation.choices import BreakKind
from cpms.reconciliation.models import BankStatement, Break, Match

pytestmark = pytest.mark.django_db


def test_demo_load__matched_with_one_break_and_idempotent(finance):
    messages = demo.load(rng=random.Random(7), options={})
    assert messages == ["bank statement DEMO-RECON-1: 5 lines, 4 matched, 1 break(s)"]
    statement = BankStatement.objects.get()
    assert statement.consistent is True
    assert Match.objects.count() == 4
    assert list(Break.objects.values_list("kind", "amount_minor")) == [
        (BreakKind.UNMATCHED_LINE, statement.lines.get(index=4).amount_minor)
    ]
    assert demo.load(rng=random.Random(7), options={}) == []
    assert BankStatement.objects.count() == 1
