"""The database itself refuses UPDATE, DELETE and TRUNCATE on every audit table."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from cpms.audit import services
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode
from cpms.audit.triggers import AUDIT_TABLES
from tests.audit.helpers import raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_tables(make_entries):
    make_entries(260)
    services.audit_seal(settle_seconds=0, checkpoint="force")


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count() for model in (AuditEntry, AuditLeaf, AuditNode, AuditCheckpoint)
    )


@pytest.mark.parametrize("table", AUDIT_TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_audit_triggers__refuse_update_and_delete(full_tables, table, statement):
    before = counts()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(statement.format(table=table))
    assert counts() == before == (260, 260, 17, 1)


def test_audit_triggers__refuse_orm_update_and_delete(full_tables):
    entry = AuditEntry.objects.order_by("pk").first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLeaf.objects.filter(entry=entry).delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""
    assert counts() == (260, 260, 17, 1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL")
@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_audit_triggers__refuse_truncate_on_postgresql(full_tables, table):
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks hide the trigger
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"TRUNCATE {table} CASCADE")
    assert counts() == (260, 260, 17, 1)


def test_audit_triggers__insert_still_allowed(make_entries):
    make_entries(2)
    assert AuditEntry.objects.exclude(action="access.denied").count() == 2
