"""One test per tamper kind. Each test plays a database superuser: it lifts the append-only
triggers, tampers in raw SQL, puts them back, and checks that verification names the damage."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from cpms.audit import selectors, services, signing, tree
from cpms.audit.canonical import entry_hash
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditCheckpoint, AuditEntry
from cpms.audit.services import audit_record
from tests.audit.helpers import guard_lifted, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed_log(make_entries):
    """15 sealed entries, checkpoints at sizes 10 and 15."""
    first = make_entries(10)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    second = make_entries(5)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    return first + second


def verify():
    return selectors.audit_verify(user=None)


def renumber(where: str, delta: int) -> None:
    """Shift leaf sequences in two steps (through negatives) so the unique index never clashes."""
    raw(f"UPDATE audit_auditleaf SET sequence = -sequence - 1 WHERE {where}")  # noqa: S608
    raw(f"UPDATE audit_auditleaf SET sequence = -sequence - 1 + {delta} WHERE sequence < 0")  # noqa: S608


def test_audit_verify__intact_log_passes_and_cli_exits_zero(sealed_log):
    result = verify()
    assert result.ok is True
    assert (result.tree_size, result.checkpoints, result.unsealed) == (15, 2, 0)
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "Intact. Tree size 15" in out.getvalue()


def test_audit_verify__edited_entry_is_named(sealed_log):
    # given
    victim = sealed_log[4]
    with guard_lifted():
        raw("UPDATE audit_auditentry SET reason = 'nothing happened' WHERE id = %s", [victim.pk])
    # when
    result = verify()
    # then
    first = result.problems[0]
    assert (first.kind, first.entry_id, first.sequence) == ("edited", victim.pk, 4)
    mismatched = [p.checkpoints for p in result.problems if p.kind == "checkpoint"]
    assert ((AuditCheckpoint.objects.order_by("pk")[0].pk,)) in mismatched
    with pytest.raises(CommandError, match=f"entry #{victim.pk} \\(sequence 4\\) was edited"):
        call_command("audit", "verify", stdout=StringIO())


def test_audit_verify__edit_with_recomputed_hashes_is_caught_by_the_checkpoints(sealed_log):
    # given: the attacker rewrites the content, its hash, its leaf and the tree, consistently
    victim = sealed_log[12]
    victim.reason = "rewritten"
    digest = entry_hash(victim)
    with guard_lifted():
        raw(
            "UPDATE audit_auditentry SET reason = %s, entry_hash = %s WHERE id = %s",
            ["rewritten", digest, victim.pk],
        )
        raw(
            "UPDATE audit_auditleaf SET leaf_hash = %s WHERE sequence = 12",
            [tree.entry_leaf_hash(12, victim.pk, digest)],
        )
    # when
    result = verify()
    # then: no entry-level trace, but the second checkpoint no longer matches
    checkpoints = list(AuditCheckpoint.objects.order_by("pk").values_list("pk", flat=True))
    assert [(p.kind, p.checkpoints) for p in result.problems] == [
        ("checkpoint", (checkpoints[1],)),
        ("checkpoint", (checkpoints[0], checkpoints[1])),
    ]
    assert "leaves before sequence 15 were changed" in result.problems[0].message


def test_audit_verify__deleted_entry_is_named(sealed_log):
    victim = sealed_log[6]
    with guard_lifted():
        raw("DELETE FROM audit_auditleaf WHERE entry_id = %s", [victim.pk])
        raw("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])
    result = verify()
    first = result.problems[0]
    assert (first.kind, first.sequence, first.entry_id) == ("deleted", 6, sealed_log[5].pk)
    assert f"between entry #{sealed_log[5].pk} and entry #{sealed_log[7].pk}" in first.message


def test_audit_verify__deleted_and_renumbered_entry_is_named(sealed_log):
    victim = sealed_log[6]
    with guard_lifted():
        raw("DELETE FROM audit_auditleaf WHERE entry_id = %s", [victim.pk])
        raw("DELETE FROM audit_auditentry WHERE id = %s", [victim.pk])
        renumber("sequence > 6", -1)
    result = verify()
    first = result.problems[0]
    assert (first.kind, first.sequence, first.entry_id) == ("deleted", 6, sealed_log[5].pk)


def test_audit_verify__inserted_entry_is_named(sealed_log):
    # given: a forged entry squeezed in at sequence 3, later leaves renumbered up
    with transaction.atomic():
        forged = audit_record(actor=None, action=AuditAction.USER_CREATED, object_id="99")
    with guard_lifted():
        renumber("sequence >= 3", 1)
        raw(
            "INSERT INTO audit_auditleaf (sequence, entry_id, leaf_hash) VALUES (3, %s, %s)",
            [forged.pk, tree.entry_leaf_hash(3, forged.pk, forged.entry_hash)],
        )
    # when
    result = verify()
    # then
    first = result.problems[0]
    assert (first.kind, first.entry_id, first.sequence) == ("inserted", forged.pk, 3)


def test_audit_verify__backdated_unsealed_entry_is_named(sealed_log):
    with transaction.atomic():
        forged = audit_record(actor=None, action=AuditAction.USER_CREATED, object_id="98")
    forged.created_at = timezone.now() - timedelta(days=2)
    with guard_lifted():
        raw(
            "UPDATE audit_auditentry SET created_at = %s, entry_hash = %s WHERE id = %s",
            [forged.created_at, entry_hash(forged), forged.pk],
        )
    result = verify()
    first = result.problems[0]
    assert (first.kind, first.entry_id) == ("unsealed", forged.pk)


def test_audit_verify__reordered_entries_are_named(sealed_log):
    with guard_lifted():
        raw("UPDATE audit_auditleaf SET sequence = -1 WHERE sequence = 4")
        raw("UPDATE audit_auditleaf SET sequence = 4 WHERE sequence = 5")
        raw("UPDATE audit_auditleaf SET sequence = 5 WHERE sequence = -1")
    result = verify()
    first = result.problems[0]
    assert (first.kind, first.entry_id, first.sequence) == ("reordered", sealed_log[5].pk, 4)


def test_audit_verify__truncated_tail_is_named(sealed_log):
    victims = [entry.pk for entry in sealed_log[12:]]
    with guard_lifted():
        for pk in victims:
            raw("DELETE FROM audit_auditleaf WHERE entry_id = %s", [pk])
            raw("DELETE FROM audit_auditentry WHERE id = %s", [pk])
    result = verify()
    first = result.problems[0]
    assert (first.kind, first.entry_id, first.sequence) == ("truncated", sealed_log[11].pk, 12)
    assert "covers 15 leaves but only 12 remain" in first.message


def test_audit_verify__forged_checkpoint_is_named(sealed_log):
    with transaction.atomic():
        forged = AuditCheckpoint.objects.create(
            tree_size=15,
            root_hash="00" * 32,
            created_at=timezone.now(),
            key_id=AuditCheckpoint.objects.first().key_id,
            signature="11" * 64,
        )
    result = verify()
    assert [(p.kind, p.checkpoints) for p in result.problems] == [("checkpoint", (forged.pk,))]
    assert "invalid signature" in result.problems[0].message


def test_audit_verify__inconsistent_checkpoint_pair_is_named(sealed_log):
    # given: a validly signed head of a different (forked) tree of 12 leaves
    now = timezone.now()
    root = "ab" * 32
    with transaction.atomic():
        fork = AuditCheckpoint.objects.create(
            tree_size=12,
            root_hash=root,
            created_at=now,
            key_id=signing.key_id(signing.public_key_bytes()),
            signature=signing.sign(signing.checkpoint_message(12, root, now)),
        )
    # when
    result = verify()
    # then
    previous = AuditCheckpoint.objects.order_by("pk")[1].pk
    assert [(p.kind, p.checkpoints) for p in result.problems] == [
        ("checkpoint", (fork.pk,)),
        ("checkpoint", (previous, fork.pk)),
    ]
    assert "are not consistent" in result.problems[1].message


def test_audit_verify__tampered_tree_node_is_named(make_entries):
    make_entries(300)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    with guard_lifted():
        raw("UPDATE audit_auditnode SET node_hash = %s WHERE level = 8", [b"\x00" * 32])
    result = verify()
    assert [(p.kind, p.sequence) for p in result.problems] == [("node", 0)]


def test_audit_verify__unsealed_recent_entries_are_not_a_problem(sealed_log, make_entries):
    make_entries(3)
    result = verify()
    assert (
        result.ok,
        result.unsealed,
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == (True, 3, 18)
