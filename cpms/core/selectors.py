"""Reads of the core app."""

from __future__ import annotations

from django.db import connection

from cpms.core.models import Heartbeat
from cpms.core.services import SCHEDULER_HEARTBEAT


def heartbeat_get(*, name: str = SCHEDULER_HEARTBEAT) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def database_status() -> tuple[bool, str]:
    """(reachable, reason). Runs a trivial query on a fresh cursor."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver failure means "down"; the reason is reported
        return False, f"{type(exc).__name__}: {exc}".strip()
    return True, "ok"
