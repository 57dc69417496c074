"""Sealing in batches, the settle delay, late commits, checkpoints and their signatures."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from cpms.audit import merkle, selectors, services, signing, tasks, tree
from cpms.audit.models import AuditCheckpoint, AuditEntry, AuditLeaf, AuditNode
from tests.audit.helpers import guard_lifted, raw

pytestmark = pytest.mark.django_db


def test_audit_seal__assigns_gap_free_sequences_in_batches(make_entries):
    entries = make_entries(700)
    result = services.audit_seal(settle_seconds=0, batch_size=256, checkpoint="never")
    assert (result.sealed, result.tree_size, result.checkpoint) == (700, 700, None)
    leaves = list(AuditLeaf.objects.order_by("sequence").values_list("sequence", "entry_id"))
    assert leaves == [(index, entry.pk) for index, entry in enumerate(entries)]
    nodes = list(AuditNode.objects.order_by("level", "index").values_list("level", "index"))
    assert nodes == [(4, index) for index in range(700 // 16)] + [(8, 0), (8, 1)]
    assert AuditCheckpoint.objects.count() == 0


def test_audit_seal__leaf_hash_binds_sequence_entry_and_content(make_entries):
    entry = make_entries(1)[0]
    services.audit_seal(settle_seconds=0, checkpoint="never")
    leaf = AuditLeaf.objects.get(entry=entry)
    data = (0).to_bytes(8, "big") + entry.pk.to_bytes(8, "big") + bytes.fromhex(entry.entry_hash)
    assert bytes(leaf.leaf_hash) == merkle.leaf_hash(data)


def test_audit_seal__settle_delay_leaves_fresh_entries_for_the_next_run(make_entries):
    make_entries(3)
    result = services.audit_seal(settle_seconds=60, checkpoint="auto")
    assert (result.sealed, result.tree_size, result.checkpoint) == (0, 0, None)
    assert AuditLeaf.objects.count() == 0


def test_audit_seal__late_commit_with_a_lower_id_is_still_sealed(make_entries):
    # given: entries 2..3 sealed while entry 1 was (as if) still uncommitted
    first, second, third = make_entries(3)
    with guard_lifted():
        raw(
            "UPDATE audit_auditentry SET created_at = %s WHERE id = %s",
            [timezone.now() + timedelta(seconds=30), first.pk],
        )
    services.audit_seal(settle_seconds=0, checkpoint="never")
    assert set(AuditLeaf.objects.values_list("entry_id", flat=True)) == {second.pk, third.pk}
    # when: it has settled
    with guard_lifted():
        raw(
            "UPDATE audit_auditentry SET created_at = %s WHERE id = %s",
            [first.created_at, first.pk],
        )
    services.audit_seal(settle_seconds=0, checkpoint="never")
    # then
    assert AuditLeaf.objects.get(sequence=2).entry_id == first.pk


def test_audit_seal__checkpoint_is_signed_over_size_root_and_time(make_entries):
    make_entries(5)
    result = services.audit_seal(settle_seconds=0, checkpoint="force")
    checkpoint = result.checkpoint
    leaves = [
        bytes(value)
        for value in AuditLeaf.objects.order_by("sequence").values_list("leaf_hash", flat=True)
    ]
    assert (checkpoint.tree_size, checkpoint.root_hash) == (5, merkle.root(leaves).hex())
    message = signing.checkpoint_message(5, checkpoint.root_hash, checkpoint.created_at)
    public = signing.public_key_bytes()
    assert signing.signature_valid(message, checkpoint.signature, public)
    assert checkpoint.key_id == signing.key_id(public)
    assert not signing.signature_valid(
        message.replace(b"\n5\n", b"\n6\n"), checkpoint.signature, public
    )


def test_audit_seal__checkpoint_only_when_due_and_grown(make_entries):
    make_entries(2)
    with override_settings(CPMS_AUDIT_CHECKPOINT_SECONDS=300):
        assert services.audit_seal(settle_seconds=0).checkpoint is not None
        make_entries(2)
        assert services.audit_seal(settle_seconds=0).checkpoint is None  # not due
    with override_settings(CPMS_AUDIT_CHECKPOINT_SECONDS=0):
        assert services.audit_seal(settle_seconds=0).checkpoint.tree_size == 4
        assert services.audit_seal(settle_seconds=0).checkpoint is None  # not grown
    assert list(AuditCheckpoint.objects.values_list("tree_size", flat=True)) == [2, 4]


def test_signing__key_is_derived_from_the_master_key():
    key = signing.private_key_from_master(b"\x01" * 32)
    again = signing.private_key_from_master(b"\x01" * 32)
    other = signing.private_key_from_master(b"\x02" * 32)
    assert signing.public_key_bytes(key) == signing.public_key_bytes(again)
    assert signing.public_key_bytes(key) != signing.public_key_bytes(other)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_audit_seal__second_sealer_backs_off_while_the_lock_is_held(make_entries):
    make_entries(2)
    from django.db import connections

    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [services.SEAL_LOCK_KEY])
        result = services.audit_seal(settle_seconds=0)
        assert (result.busy, result.sealed, AuditLeaf.objects.count()) == (True, 0, 0)
    finally:
        other.rollback()
        other.close()


def test_audit_seal__periodic_task_and_cli(make_entries):
    make_entries(3)
    with override_settings(CPMS_AUDIT_SETTLE_SECONDS=0):
        tasks.audit_seal.call_local()
    assert AuditLeaf.objects.count() == 3
    make_entries(2)
    out = StringIO()
    call_command("audit", "seal", "--settle-seconds", "0", "--checkpoint", "force", stdout=out)
    assert "Sealed 2 entries; tree size 5." in out.getvalue()
    assert list(AuditCheckpoint.objects.order_by("pk").values_list("tree_size", flat=True)) == [
        3,
        5,
    ]


def test_audit_seal__refuses_to_build_on_a_damaged_tree(make_entries):
    make_entries(3)
    services.audit_seal(settle_seconds=0, checkpoint="never")
    with guard_lifted():
        raw("DELETE FROM audit_auditleaf WHERE sequence = 1")
    make_entries(1)
    from cpms.audit.errors import AuditTreeDamaged

    with pytest.raises(AuditTreeDamaged):
        services.audit_seal(settle_seconds=0, checkpoint="never")
    assert AuditLeaf.objects.count() == 2


def test_audit_record__does_not_seal_or_sequence_on_write(make_entries):
    with transaction.atomic():
        make_entries(1)
    assert (
        AuditEntry.objects.exclude(action="access.denied").count(),
        AuditLeaf.objects.count(),
    ) == (1, 0)
    assert selectors.sealed_size() == 0
    assert tree.TreeState().root() == merkle.EMPTY_ROOT
