"""Issue 10 item 6: a forged entry back-dated to before the newest checkpoint is never sealed in
and always reported, and every entry's hash is recomputed, sealed or not.

Each test plays a database superuser. On PostgreSQL the triggers are bypassed the way the issue
describes (`SET LOCAL session_replication_role = replica`, no DDL needed); on SQLite (and also
on PostgreSQL) the guard is dropped and put back like the other tamper tests do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from cpms.audit import selectors, services, tree
from cpms.audit.canonical import entry_hash
from cpms.audit.choices import AuditAction
from cpms.audit.models import ENTRY_COLUMNS, AuditCheckpoint, AuditEntry, AuditLeaf
from tests.audit.helpers import guard_lifted, raw

pytestmark = pytest.mark.django_db


@contextmanager
def replica_role() -> Iterator[None]:
    """A PostgreSQL superuser's way round every trigger, without DDL."""
    with transaction.atomic():
        raw("SET LOCAL session_replication_role = replica")
        yield


BYPASSES = [
    pytest.param(
        replica_role,
        id="replica-role",
        marks=[
            pytest.mark.postgres_only,
            pytest.mark.skipif(
                connection.vendor != "postgresql", reason="session_replication_role is PostgreSQL's"
            ),
        ],
    ),
    pytest.param(guard_lifted, id="triggers-dropped"),
]


def forge(created_at: datetime, *, reason: str = "forged") -> AuditEntry:
    """INSERT a correctly hashed entry dated `created_at`, as a superuser would."""
    entry = AuditEntry(
        created_at=created_at,
        actor_id=None,
        actor_name="",
        actor_roles="",
        channel="cli",
        ip="",
        user_agent="",
        request_id="",
        action=str(AuditAction.USER_CREATED),
        object_type="user",
        object_id="77",
        before=None,
        after={"username": "ghost"},
        reason=reason,
    )
    entry.entry_hash = entry_hash(entry)
    values = [getattr(entry, name) for name in ENTRY_COLUMNS]
    values[ENTRY_COLUMNS.index("created_at")] = connection.ops.adapt_datetimefield_value(created_at)
    values[ENTRY_COLUMNS.index("after")] = '{"username":"ghost"}'
    columns = ", ".join(ENTRY_COLUMNS)
    marks = ", ".join(["%s"] * len(ENTRY_COLUMNS))
    raw(f"INSERT INTO audit_auditentry ({columns}) VALUES ({marks})", values)  # noqa: S608
    entry.pk = raw("SELECT MAX(id) FROM audit_auditentry")[0][0]
    return entry


@pytest.fixture
def checkpointed(make_entries):
    """10 sealed entries under one checkpoint signed just now."""
    entries = make_entries(10)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    return entries


def latest_checkpoint() -> AuditCheckpoint:
    return AuditCheckpoint.objects.order_by("-pk").first()


def verify():
    return selectors.audit_verify(user=None)


@pytest.mark.parametrize("bypass", BYPASSES)
def test_audit_verify__entry_backdated_13_minutes_before_the_checkpoint_is_named(
    checkpointed, bypass
):
    # given: the case, inside the old one-hour lookback
    with bypass():
        forged = forge(latest_checkpoint().created_at - timedelta(minutes=13))
    # when
    result = verify()
    # then
    assert result.ok is False
    assert (result.problems[0].kind, result.problems[0].entry_id) == ("unsealed", forged.pk)
    assert result.unsealed == 1
    with pytest.raises(CommandError, match=f"entry #{forged.pk} is dated"):
        call_command("audit", "verify", stdout=StringIO())


@pytest.mark.parametrize("bypass", BYPASSES)
def test_audit_seal__refuses_an_entry_backdated_before_the_checkpoint(checkpointed, bypass):
    # given
    with bypass():
        forged = forge(latest_checkpoint().created_at - timedelta(minutes=13))
    # when: the next seals, a normal one and a full search
    first = services.audit_seal(settle_seconds=0, checkpoint="force")
    second = services.audit_seal(settle_seconds=0, checkpoint="never", full=True)
    # then: never sealed in, still reported
    assert (first.sealed, first.tree_size) == (0, 10)
    assert (second.sealed, second.refused) == (0, 1)
    assert not AuditLeaf.objects.filter(entry_id=forged.pk).exists()
    result = verify()
    assert [(p.kind, p.entry_id) for p in result.problems] == [("unsealed", forged.pk)]


def test_audit_seal__cli_full_search_names_refused_entries(checkpointed):
    with guard_lifted():
        forge(latest_checkpoint().created_at - timedelta(minutes=13))
    out = StringIO()
    call_command("audit", "seal", "--full", "--settle-seconds", "0", stdout=out)
    assert "Refused 1 entry dated before the latest checkpoint" in out.getvalue()


def test_audit_seal__an_entry_within_the_settle_delay_before_the_checkpoint_is_sealed(
    checkpointed,
):
    # given: dated 1 s before the checkpoint, inside the 2 s settle delay (a slow commit)
    with override_settings(CPMS_AUDIT_SETTLE_SECONDS=2), guard_lifted():
        late = forge(latest_checkpoint().created_at - timedelta(seconds=1), reason="late")
        # when
        result = services.audit_seal(settle_seconds=0, checkpoint="force")
        # then
        assert (result.sealed, result.refused) == (1, 0)
        assert AuditLeaf.objects.get(entry_id=late.pk).sequence == 10
        assert verify().ok is True


def test_audit_verify__entry_sealed_after_a_checkpoint_but_dated_before_it_is_named(
    checkpointed,
):
    # given: the superuser also appends the leaf itself (no tile completes at sequence 10)
    with guard_lifted():
        forged = forge(latest_checkpoint().created_at - timedelta(minutes=13))
        raw(
            "INSERT INTO audit_auditleaf (sequence, entry_id, leaf_hash) VALUES (10, %s, %s)",
            [forged.pk, tree.entry_leaf_hash(10, forged.pk, forged.entry_hash)],
        )
    # when
    result = verify()
    # then
    first = result.problems[0]
    assert (first.kind, first.entry_id, first.sequence) == ("inserted", forged.pk, 10)
    assert f"sealed after checkpoint #{latest_checkpoint().pk}" in first.message


def test_audit_verify__edited_unsealed_entry_on_a_never_sealed_log_is_named(make_entries):
    # given: nothing sealed, no checkpoint
    entries = make_entries(3)
    with guard_lifted():
        raw("UPDATE audit_auditentry SET reason = 'changed' WHERE id = %s", [entries[1].pk])
    # when
    result = verify()
    # then
    assert result.ok is False
    assert [(p.kind, p.entry_id, p.sequence) for p in result.problems] == [
        ("edited", entries[1].pk, None)
    ]
    assert "not sealed yet" in result.problems[0].message


def test_audit_verify__edited_unsealed_entry_after_the_checkpoint_is_named(
    checkpointed, make_entries
):
    fresh = make_entries(2)
    with guard_lifted():
        raw("UPDATE audit_auditentry SET object_id = 'x' WHERE id = %s", [fresh[0].pk])
    result = verify()
    assert [(p.kind, p.entry_id) for p in result.problems] == [("edited", fresh[0].pk)]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_stat_activity is PostgreSQL's")
def test_checkpoint_write__waits_while_an_older_writing_transaction_is_open(make_entries):
    # given: another connection has written (it holds a transaction id) and not committed
    make_entries(2)
    services.audit_seal(settle_seconds=0, checkpoint="never")
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
        # when / then: no checkpoint while it is open (its entries could not be sealed in)
        with override_settings(CPMS_AUDIT_SETTLE_SECONDS=0):
            assert services.checkpoint_write(force=True) is None
        other.rollback()
        with override_settings(CPMS_AUDIT_SETTLE_SECONDS=0):
            assert services.checkpoint_write(force=True).tree_size == 2
    finally:
        other.rollback()
        other.close()


def test_audit_verify__recent_unsealed_entries_after_the_checkpoint_are_fine(
    checkpointed, make_entries
):
    make_entries(2)
    result = verify()
    assert (
        result.ok,
        result.unsealed,
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == (True, 2, 12)
    assert timezone.now() > latest_checkpoint().created_at
