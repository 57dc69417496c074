from __future__ import annotations

from datetime import datetime

import pytest
from huey.contrib.djhuey import HUEY

from cpms.core import tasks
from cpms.core.models import Heartbeat
from cpms.core.selectors import heartbeat_get


@pytest.mark.django_db
def test_heartbeat_task__records_a_beat_each_run():
    # when the periodic task runs twice
    tasks.heartbeat()
    first = heartbeat_get()
    tasks.heartbeat()
    # then one row counts both beats
    second = Heartbeat.objects.get(name="scheduler")
    assert first.beats == 1
    assert second.beats == 2
    assert second.beat_at >= first.beat_at


def test_heartbeat_task__is_due_every_minute():
    for minute in (0, 1, 30, 59):
        due = HUEY.read_periodic(datetime(2026, 11, 28, 12, minute))
        assert tasks.heartbeat.task_class in {type(task) for task in due}, minute
