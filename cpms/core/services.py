"""Writes of the core app."""

from __future__ import annotations

import socket

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cpms.core.models import Heartbeat

SCHEDULER_HEARTBEAT = "scheduler"


def heartbeat_record(*, name: str = SCHEDULER_HEARTBEAT) -> Heartbeat:
    """Record that `name` is alive now; counts beats so a stuck clock is visible too."""
    now = timezone.now()
    with transaction.atomic():
        heartbeat, created = Heartbeat.objects.get_or_create(
            name=name, defaults={"beat_at": now, "beats": 1, "hostname": socket.gethostname()}
        )
        if not created:
            Heartbeat.objects.filter(pk=heartbeat.pk).update(
                beat_at=now, beats=F("beats") + 1, hostname=socket.gethostname()
            )
            heartbeat.refresh_from_db()
    return heartbeat
