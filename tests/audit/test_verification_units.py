"""cpms.audit.verification piece by piece: time forms, missing nodes, retired keys, the order of
checkpoints, the back-dating bounds, the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone as django_timezone

from cpms.audit import selectors, services, signing, verification
from cpms.audit.canonical import entry_hash
from cpms.audit.models import ENTRY_COLUMNS, AuditCheckpoint, AuditEntry
from cpms.audit.verification._shared import _iso_time
from cpms.audit.verification.checkpoints import date_bounds
from cpms.config.env import decode_master_key, new_master_key
from tests.audit.helpers import guard_lifted, raw

MOMENT = datetime(2026, 11, 28, 12, 25, 4, 91087, tzinfo=UTC)


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-28 12:25:04.091087",  # SQLite, Django's own format
        "2026-11-28T12:25:04.091087",  # other naive text
        "2026-11-28 20:25:04.091087+08:00",  # text with an offset
        datetime(2026, 11, 28, 12, 25, 4, 91087),  # naive
        datetime(2026, 11, 28, 20, 25, 4, 91087, tzinfo=timezone(timedelta(hours=8))),
        MOMENT,
    ],
)
def test_iso_time__every_stored_form_gives_the_hashed_text(stored):
    assert _iso_time(stored) == "2026-11-28T12:25:04.091087+00:00"


def test_iso_time__whole_seconds_keep_no_fraction():
    assert _iso_time("2026-11-28 12:25:04") == "2026-11-28T12:25:04+00:00"


@pytest.mark.django_db
def test_content_digest__equals_the_entry_hash(make_entries):
    entry = AuditEntry.objects.get(pk=make_entries(1)[0].pk)
    columns = [c for c in ENTRY_COLUMNS if c not in ("created_at", "entry_hash")]
    fields = []
    for name in columns:
        value = getattr(entry, name)
        if name in ("before", "after"):
            value = None if value is None else selectors.signing_json(value)
        fields.append(value)
    assert verification.content_digest(entry.created_at, tuple(fields)) == entry_hash(entry)
    assert entry.entry_hash == entry_hash(entry)


@pytest.mark.django_db
def test_audit_verify__missing_tree_node_is_named(make_entries):
    make_entries(40)
    services.audit_seal(settle_seconds=0, checkpoint="never")
    with guard_lifted():
        raw('DELETE FROM audit_auditnode WHERE level = 4 AND "index" = 1')
    result = selectors.audit_verify(user=None)
    assert [(p.kind, p.message) for p in result.problems] == [
        ("node", "1 stored tree node(s) are missing")
    ]


def _sign_with(master: bytes, size: int, root: str, moment: datetime) -> AuditCheckpoint:
    key = signing.private_key_from_master(master)
    public = signing.public_key_bytes(key)
    with transaction.atomic():
        return AuditCheckpoint.objects.create(
            tree_size=size,
            root_hash=root,
            created_at=moment,
            key_id=signing.key_id(public),
            signature=signing.sign(signing.checkpoint_message(size, root, moment), key),
        )


@pytest.mark.django_db
def test_audit_verify__checkpoint_of_a_retired_master_key_verifies_only_while_known(
    make_entries, settings
):
    make_entries(3)
    services.audit_seal(settle_seconds=0, checkpoint="never")
    root = selectors.audit_verify(user=None).root_hash
    retired = decode_master_key(new_master_key(), source="test")
    old = _sign_with(retired, 3, root, django_timezone.now())
    # unknown key: forged
    assert [p.checkpoints for p in selectors.audit_verify(user=None).problems] == [(old.pk,)]
    # once the key is listed as retired, the checkpoint is genuine
    settings.CPMS_MASTER_KEYS_RETIRED = [retired]
    assert selectors.audit_verify(user=None).ok is True
    assert set(verification.known_public_keys()) == {
        signing.key_id(signing.public_key_bytes()),
        old.key_id,
    }


@pytest.mark.django_db
def test_audit_verify__checkpoint_time_going_back_is_inconsistent(make_entries):
    make_entries(3)
    first = services.audit_seal(settle_seconds=0, checkpoint="force").checkpoint
    root = first.root_hash
    master = bytes(django_settings.CPMS_MASTER_KEY)
    earlier = _sign_with(master, 3, root, first.created_at - timedelta(minutes=1))
    result = selectors.audit_verify(user=None)
    assert [(p.kind, p.checkpoints) for p in result.problems] == [
        ("checkpoint", (first.pk, earlier.pk))
    ]


def test_date_bounds__running_newest_time_by_size():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (1, 4, "r", t0, "k", "s"),
        (2, 8, "r", t0 + timedelta(minutes=5), "k", "s"),
        (3, 6, "r", t0 + timedelta(minutes=9), "k", "s"),  # smaller, but signed later
        (4, 10, "r", t0 + timedelta(minutes=20), "k", "s"),  # forged: ignored
    ]
    bounds = date_bounds(rows, {1, 2, 3}, timedelta(seconds=2))
    settle = timedelta(seconds=2)
    assert bounds == [
        (4, t0 - settle, 1),
        (6, t0 + timedelta(minutes=9) - settle, 3),
        (8, t0 + timedelta(minutes=9) - settle, 3),
    ]


def test_verify_result__summary_shape_and_cap():
    result = verification.VerifyResult(tree_size=3, root_hash="ab", checkpoints=1, unsealed=2)
    assert result.ok is True and result.first_entry_problem is None
    result.problems = [verification.Problem("checkpoint", "c", checkpoints=(1, 2))]
    result.problems += [verification.Problem("edited", f"e{n}", n, n) for n in range(25)]
    summary = result.summary()
    assert (summary["ok"], summary["tree_size"], summary["root_hash"]) == (False, 3, "ab")
    assert (summary["checkpoints"], summary["unsealed"], summary["witnessed"]) == (1, 2, None)
    assert len(summary["problems"]) == 20
    assert summary["problems"][0] == {
        "kind": "checkpoint",
        "message": "c",
        "entry_id": None,
        "sequence": None,
        "checkpoints": [1, 2],
    }
    assert result.first_entry_problem.message == "e0"


@pytest.mark.django_db
def test_audit_verify__settle_delay_setting_moves_the_back_dating_bound(make_entries):
    make_entries(2)
    checkpoint = services.audit_seal(settle_seconds=0, checkpoint="force").checkpoint
    entry = AuditEntry(
        created_at=checkpoint.created_at - timedelta(seconds=30),
        actor_id=None,
        action="user.created",
        after=None,
        before=None,
    )
    entry.entry_hash = entry_hash(entry)
    with transaction.atomic():
        AuditEntry.objects.bulk_create([entry])
    with override_settings(CPMS_AUDIT_SETTLE_SECONDS=60):
        assert selectors.audit_verify(user=None).ok is True
    with override_settings(CPMS_AUDIT_SETTLE_SECONDS=10):
        assert [p.kind for p in selectors.audit_verify(user=None).problems] == ["unsealed"]
