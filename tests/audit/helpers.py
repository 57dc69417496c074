"""Helpers other test packages may import.

    from tests.audit.helpers import audit_log, audit_flushable  # noqa: F401 (fixtures)

`audit_log` returns a recorder: `audit_log.mark()` remembers the newest entry, `audit_log.new()`
returns the entries written since (oldest first), `audit_log.actions()` just their actions.
`audit_flushable` must be used by `transaction=True` tests: the database refuses DELETE and
TRUNCATE on the audit tables, so it lifts that guard before pytest-django flushes the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from cpms.audit import triggers
from cpms.audit.models import AuditEntry


class AuditLog:
    def __init__(self) -> None:
        self.since = 0
        self.mark()

    def mark(self) -> None:
        self.since = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def new(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(pk__gt=self.since).order_by("pk"))

    def actions(self) -> list[str]:
        return [entry.action for entry in self.new()]


@pytest.fixture
def audit_log(db) -> AuditLog:
    return AuditLog()


@contextmanager
def guard_lifted() -> Iterator[None]:
    """Play a database superuser: drop the append-only triggers, yield, put them back."""
    triggers.remove(connection)
    try:
        yield
    finally:
        triggers.install(connection)


def raw(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def audit_flushable(transactional_db) -> Iterator[None]:
    yield
    triggers.remove(connection)  # the flush after the test empties the tables
