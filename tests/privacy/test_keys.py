"""Master-key rotation, key status and `cpms keys`."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.management import CommandError, call_command

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.config import env
from cpms.privacy import keys, selectors, services
from cpms.privacy.errors import MasterKeyMissing
from cpms.privacy.models import DataKey
from cpms.privacy.protected import pii_filter, pii_read
from tests.testapps.privacy_fixture.models import Person
from tests.testapps.privacy_fixture.services import person_create

NEW_KEY = bytes(range(100, 132))


def make_people(count: int) -> list[Person]:
    return [
        person_create(actor=None, phone=f"1381234{index:04d}", name=f"张{index}")
        for index in range(count)
    ]


def switch_master_key(settings, *, retired: list[bytes]) -> None:
    settings.CPMS_MASTER_KEY = NEW_KEY
    settings.CPMS_MASTER_KEYS_RETIRED = retired


def test_master_key_id__short_hash_of_the_key(settings):
    ring = keys.master_keyring()

    assert ring.current_id == keys.master_key_id(settings.CPMS_MASTER_KEY)
    assert len(ring.current_id) == 16
    assert keys.master_key_id(NEW_KEY) != ring.current_id


def test_data_keys_rotate__rewraps_in_batches_and_data_still_decrypts(db, settings):
    people = make_people(5)  # 5 data keys + the blind-index root
    old_key = settings.CPMS_MASTER_KEY
    old_id = keys.master_key_id(old_key)
    switch_master_key(settings, retired=[old_key])
    new_id = keys.master_key_id(NEW_KEY)
    assert pii_read(Person.objects.get(pk=people[0].pk), "phone") == "13812340000"  # via retired

    report = services.data_keys_rotate(actor=None, batch_size=2)

    assert (report.rotated, report.batches, report.failed) == (6, 3, [])
    assert report.rotated_from == {old_id: 6}
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {new_id}
    entry = AuditEntry.objects.get(action=AuditAction.KEYS_ROTATED)
    assert (entry.object_type, entry.object_id) == ("privacy.master_key", new_id)
    assert entry.after == {"rotated": 6, "batches": 3, "rotated_from": {old_id: 6}, "failed": 0}

    # the old key can now be removed: everything still reads and the blind indexes still match
    settings.CPMS_MASTER_KEYS_RETIRED = []
    keys.forget_cached_keys()
    fresh = list(Person.objects.order_by("pk"))
    assert [pii_read(person, "phone") for person in fresh] == [
        f"1381234{index:04d}" for index in range(5)
    ]
    assert list(pii_filter(Person.objects.all(), "name", "张3")) == [people[3]]


def test_data_keys_rotate__new_writes_use_the_new_master_key(db, settings):
    switch_master_key(settings, retired=[])

    person = make_people(1)[0]

    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {
        keys.master_key_id(NEW_KEY)
    }
    assert pii_read(person, "phone") == "13812340000"


def test_pii_read__without_the_retired_key_names_the_missing_key(db, settings):
    person = make_people(1)[0]
    old_id = keys.master_key_id(settings.CPMS_MASTER_KEY)
    switch_master_key(settings, retired=[])
    keys.forget_cached_keys()

    with pytest.raises(MasterKeyMissing) as raised:
        pii_read(Person.objects.get(pk=person.pk), "phone")
    assert f"wrapped by master key {old_id}" in raised.value.message
    assert raised.value.code == "privacy.master_key_missing"


def test_data_keys_rotate__interrupted_run_resumes(db, settings, monkeypatch):
    make_people(4)
    old_key = settings.CPMS_MASTER_KEY
    switch_master_key(settings, retired=[old_key])
    real_wrap = keys.wrap
    calls = {"n": 0}

    def failing_wrap(**kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("power cut")
        return real_wrap(**kwargs)

    monkeypatch.setattr(keys, "wrap", failing_wrap)
    with pytest.raises(RuntimeError):
        services.data_keys_rotate(actor=None, batch_size=2)
    new_id = keys.master_key_id(NEW_KEY)
    assert DataKey.objects.filter(master_key_id=new_id).count() == 2  # first batch committed
    assert not AuditEntry.objects.filter(action=AuditAction.KEYS_ROTATED).exists()

    monkeypatch.setattr(keys, "wrap", real_wrap)
    report = services.data_keys_rotate(actor=None, batch_size=2)

    assert report.rotated == 3
    assert DataKey.objects.filter(master_key_id=new_id).count() == 5


def test_data_keys_rotate__skips_destroyed_and_reports_unreadable(db, settings):
    people = make_people(3)
    services.data_key_destroy(actor=None, subject=people[0], reason="erasure")
    old_key = settings.CPMS_MASTER_KEY
    switch_master_key(settings, retired=[])  # the old key is not configured: nothing unwraps

    report = services.data_keys_rotate(actor=None, batch_size=10)

    assert report.rotated == 0
    assert len(report.failed) == 3  # two people and the blind-index root
    assert DataKey.objects.filter(master_key_id=keys.master_key_id(old_key)).count() == 3

    settings.CPMS_MASTER_KEYS_RETIRED = [old_key]
    assert services.data_keys_rotate(actor=None, batch_size=10).rotated == 3


def test_data_keys_rotate__nothing_to_do_is_still_audited_once(db):
    make_people(1)

    report = services.data_keys_rotate(actor=None)

    assert (report.rotated, report.batches) == (0, 0)
    assert AuditEntry.objects.filter(action=AuditAction.KEYS_ROTATED).count() == 1


def test_key_status__counts_per_master_key(db, settings):
    people = make_people(2)
    services.data_key_destroy(actor=None, subject=people[1], reason="erasure")
    old_id = keys.master_key_id(settings.CPMS_MASTER_KEY)
    switch_master_key(settings, retired=[settings.CPMS_MASTER_KEY])
    make_people(1)

    status = selectors.key_status(None)

    new_id = keys.master_key_id(NEW_KEY)
    assert status.current_master_key_id == new_id
    assert status.retired_master_key_ids == (old_id,)
    assert {row.master_key_id: (row.configured, row.data_keys) for row in status.by_master_key} == {
        old_id: ("retired", 2),
        new_id: ("current", 1),
    }
    assert (status.live, status.destroyed, status.pending_rotation) == (3, 1, 2)


def test_keys_command__status_and_rotate(db, settings, capsys):
    make_people(2)
    old_key = settings.CPMS_MASTER_KEY
    old_id = keys.master_key_id(old_key)
    switch_master_key(settings, retired=[old_key])
    new_id = keys.master_key_id(NEW_KEY)

    call_command("keys", "status")
    status_out = capsys.readouterr().out
    call_command("keys", "rotate", "--batch-size", "1")
    rotate_out = capsys.readouterr().out

    assert f"current master key: {new_id}" in status_out
    assert f"{old_id:<18} retired   3" in status_out
    assert f"re-wrapped 3 data keys in 3 batches under {new_id} (from {old_id}: 3)" in rotate_out


def test_keys_command__rotate_fails_loudly_when_a_key_is_missing(db, settings):
    make_people(1)
    switch_master_key(settings, retired=[])

    with pytest.raises(CommandError) as raised:
        call_command("keys", "rotate")

    assert "2 data keys could not be unwrapped" in str(raised.value)


def test_env__retired_master_keys_parsed(tmp_path):
    current = base64.urlsafe_b64encode(os.urandom(32)).decode()
    first, second = (base64.urlsafe_b64encode(os.urandom(32)).decode() for _ in range(2))
    environ = {
        "CPMS_DEBUG": "1",
        "CPMS_DATA_DIR": str(tmp_path),
        "CPMS_MASTER_KEY": current,
        "CPMS_MASTER_KEYS_RETIRED": f"{first}, {second},{current},{first}",
    }

    config = env.load(environ)

    assert config.master_keys_retired == [
        env.decode_master_key(first, source="x"),
        env.decode_master_key(second, source="x"),
    ]
    assert env.load({**environ, "CPMS_MASTER_KEYS_RETIRED": ""}).master_keys_retired == []
    with pytest.raises(env.ConfigError) as raised:
        env.load({**environ, "CPMS_MASTER_KEYS_RETIRED": "c2hvcnQ"})
    assert "CPMS_MASTER_KEYS_RETIRED item 1" in str(raised.value)
