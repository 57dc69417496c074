"""The external witness of checkpoints (issue 10 item 6): every new checkpoint is appended to a
file outside the database after commit, and `cpms audit verify --witness FILE` reports a
checkpoint missing from, or different in, the database, and a log that no longer matches."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from cpms.audit import selectors, services, signing, tree, witness
from cpms.audit.canonical import entry_hash
from cpms.audit.models import AuditCheckpoint, AuditLeaf
from tests.audit.helpers import guard_lifted, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def witness_file(tmp_path, settings):
    path = tmp_path / "witness" / "checkpoints.jsonl"
    settings.CPMS_AUDIT_WITNESS_FILE = str(path)
    return path


@pytest.fixture
def witnessed_log(make_entries, witness_file, django_capture_on_commit_callbacks):
    """Checkpoints at sizes 4 and 10, both witnessed; no tile is complete (16 leaves)."""
    entries = make_entries(4)
    with django_capture_on_commit_callbacks(execute=True):
        services.audit_seal(settle_seconds=0, checkpoint="force")
    entries += make_entries(6)
    with django_capture_on_commit_callbacks(execute=True):
        services.audit_seal(settle_seconds=0, checkpoint="force")
    return entries


def verify_with(path):
    return selectors.audit_verify(user=None, witness=witness.read(path))


def checkpoints() -> list[AuditCheckpoint]:
    return list(AuditCheckpoint.objects.order_by("pk"))


def test_checkpoint_write__appends_each_checkpoint_to_the_witness_after_commit(witnessed_log):
    lines = witness_file_lines()
    assert lines == [
        {
            "id": checkpoint.pk,
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_hash,
            "time": signing.format_time(checkpoint.created_at),
            "key_id": checkpoint.key_id,
            "signature": checkpoint.signature,
        }
        for checkpoint in checkpoints()
    ]
    assert [line["tree_size"] for line in lines] == [4, 10]


def witness_file_lines() -> list[dict]:
    path = witness.configured_path()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_checkpoint_write__nothing_is_witnessed_before_commit(
    make_entries, witness_file, django_capture_on_commit_callbacks
):
    make_entries(2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.audit_seal(settle_seconds=0, checkpoint="force")
    assert not witness_file.exists()
    assert len(callbacks) == 1


def test_checkpoint_write__no_witness_file_configured_writes_nothing(
    make_entries, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CPMS_AUDIT_WITNESS_FILE = None
    make_entries(2)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.audit_seal(settle_seconds=0, checkpoint="force")
    assert callbacks == []
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_write__unwritable_witness_is_logged_and_the_checkpoint_kept(
    make_entries, settings, tmp_path, django_capture_on_commit_callbacks, caplog
):
    settings.CPMS_AUDIT_WITNESS_FILE = str(tmp_path)  # a directory: cannot be opened for writing
    make_entries(2)
    with django_capture_on_commit_callbacks(execute=True):
        written = services.audit_seal(settle_seconds=0, checkpoint="force").checkpoint
    assert AuditCheckpoint.objects.filter(pk=written.pk).exists()
    assert f"checkpoint #{written.pk} not appended to {tmp_path}" in caplog.text


def test_witness_append__one_line_per_checkpoint_mode_0600(tmp_path):
    path = tmp_path / "w.jsonl"
    witness.append(path, {"id": 1, "a": "x"})
    witness.append(path, {"id": 2, "a": "y"})
    assert path.read_bytes() == b'{"a":"x","id":1}\n{"a":"y","id":2}\n'
    assert path.stat().st_mode & 0o777 == 0o600


def test_audit_verify__intact_log_agrees_with_its_witness(witnessed_log, witness_file):
    result = verify_with(witness_file)
    assert (result.ok, result.witnessed, result.summary()["witnessed"]) == (True, 2, 2)
    out = StringIO()
    call_command("audit", "verify", "--witness", str(witness_file), stdout=out)
    assert "Compared with 2 witnessed checkpoints." in out.getvalue()
    assert "Intact. Tree size 10" in out.getvalue()


def test_audit_verify__without_witness_reports_no_witness_count(witnessed_log):
    result = selectors.audit_verify(user=None)
    assert (result.ok, result.witnessed, result.summary()["witnessed"]) == (True, None, None)


def test_audit_verify__tail_and_its_checkpoint_deleted_only_the_witness_sees_it(
    witnessed_log, witness_file
):
    # given: the superuser deletes the last 6 entries and the checkpoint that covered them
    latest = checkpoints()[-1]
    with guard_lifted():
        raw("DELETE FROM audit_auditcheckpoint WHERE id = %s", [latest.pk])
        for entry in witnessed_log[4:]:
            raw("DELETE FROM audit_auditleaf WHERE entry_id = %s", [entry.pk])
            raw("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    # when / then: the database alone looks intact
    assert selectors.audit_verify(user=None).ok is True
    # and the witness names the missing checkpoint and the lost leaves
    result = verify_with(witness_file)
    assert [(p.kind, p.checkpoints) for p in result.problems] == [
        ("witness", (latest.pk,)),
        ("witness", (latest.pk,)),
    ]
    assert "is in the witness but missing from the database" in result.problems[0].message
    assert "covers 10 leaves but only 4 remain" in result.problems[1].message
    with pytest.raises(CommandError, match="missing from the database"):
        call_command("audit", "verify", "--witness", str(witness_file), stdout=StringIO())


def test_audit_verify__history_rewritten_and_resigned_with_the_master_key_differs_from_witness(
    witnessed_log, witness_file
):
    # given: someone holding the master key rewrites entry 6, its leaf, and re-signs the head
    victim = witnessed_log[6]
    victim.reason = "rewritten"
    digest = entry_hash(victim)
    latest = checkpoints()[-1]
    with guard_lifted():
        raw(
            "UPDATE audit_auditentry SET reason = %s, entry_hash = %s WHERE id = %s",
            ["rewritten", digest, victim.pk],
        )
        raw(
            "UPDATE audit_auditleaf SET leaf_hash = %s WHERE sequence = 6",
            [tree.entry_leaf_hash(6, victim.pk, digest)],
        )
        leaves = [
            bytes(value)
            for value in AuditLeaf.objects.order_by("sequence").values_list("leaf_hash", flat=True)
        ]
        from cpms.audit import merkle

        root = merkle.root(leaves).hex()
        raw(
            "UPDATE audit_auditcheckpoint SET root_hash = %s, signature = %s WHERE id = %s",
            [
                root,
                signing.sign(signing.checkpoint_message(10, root, latest.created_at)),
                latest.pk,
            ],
        )
    # when / then: consistent inside the database
    assert selectors.audit_verify(user=None).ok is True
    result = verify_with(witness_file)
    messages = [p.message for p in result.problems]
    assert [p.kind for p in result.problems] == ["witness", "witness"]
    assert f"checkpoint #{latest.pk} in the database differs from the witness" in messages[0]
    assert f"no longer matches witnessed checkpoint #{latest.pk} (size 10)" in messages[1]


def test_audit_verify__checkpoint_added_behind_the_witness_is_named(witnessed_log, witness_file):
    # given: a validly signed extra checkpoint before the newest witnessed one, not in the file
    first, _second = checkpoints()
    lines = witness_file.read_text().splitlines()
    witness_file.write_text(lines[1] + "\n")  # the witness only ever saw the second
    # when
    result = verify_with(witness_file)
    # then
    assert [(p.kind, p.checkpoints) for p in result.problems] == [("witness", (first.pk,))]
    assert "in the database but not in the witness" in result.problems[0].message


def test_audit_verify__checkpoint_newer_than_the_witness_is_fine(
    witnessed_log, witness_file, make_entries
):
    # given: a checkpoint written while the witness could not be appended
    lines = witness_file.read_text()
    make_entries(1)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    witness_file.write_text(lines)
    assert verify_with(witness_file).ok is True


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "witness line 3 is not a checkpoint record"),
        ("[1, 2]", "witness line 3 is not a checkpoint record"),
        ('{"id": 1}', "witness line 3 is not a checkpoint record"),
        ("forged", "witness line 3 (checkpoint #{pk}) is not signed by a known key"),
        ("negative", "witness line 3 is not a checkpoint record"),
        ("text size", "witness line 3 is not a checkpoint record"),
        ("number root", "witness line 3 is not a checkpoint record"),
        ("unknown key", "witness line 3 (checkpoint #{pk}) is not signed by a known key"),
    ],
)
def test_audit_verify__bad_witness_lines_are_named(witnessed_log, witness_file, line, message):
    record = witness.record_of(checkpoints()[-1])
    if line == "forged":
        line = json.dumps({**record, "root_hash": "00" * 32})
    elif line == "negative":
        line = json.dumps({**record, "tree_size": -1})
    elif line == "text size":
        line = json.dumps({**record, "tree_size": "10"})
    elif line == "number root":
        line = json.dumps({**record, "root_hash": 5})
    elif line == "unknown key":
        line = json.dumps({**record, "key_id": "0" * 16})
    with witness_file.open("a") as handle:
        handle.write(line + "\n\n")
    result = verify_with(witness_file)
    assert [p.message for p in result.problems] == [message.format(pk=record["id"])]
    assert result.witnessed == (2 if "record" in message else 3)


def test_audit_verify__cli_refuses_an_unreadable_witness_file(witnessed_log, tmp_path):
    with pytest.raises(CommandError, match="cannot read the witness file"):
        call_command("audit", "verify", "--witness", str(tmp_path / "nope"), stdout=StringIO())


def test_audit_verify__json_output_has_the_witness_count(witnessed_log, witness_file):
    out = StringIO()
    call_command("audit", "verify", "--json", "--witness", str(witness_file), stdout=out)
    summary, _end = json.JSONDecoder().raw_decode(out.getvalue())  # then the "Intact." line
    assert summary["witnessed"] == 2


def test_witness_record__signed_message_is_the_checkpoint_message(witnessed_log, witness_file):
    checkpoint = checkpoints()[0]
    (_line, record), *_rest = witness.read(witness_file)
    assert record.signed_message() == signing.checkpoint_message(
        checkpoint.tree_size, checkpoint.root_hash, checkpoint.created_at
    )
    assert record.line == 1


def test_checkpoint_write__witness_is_written_once_per_commit(
    make_entries, witness_file, django_capture_on_commit_callbacks
):
    make_entries(1)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.audit_seal(settle_seconds=0, checkpoint="force")
        services.audit_seal(settle_seconds=0, checkpoint="auto")  # not grown: none
    assert len(witness_file.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", None), ("  ", None), ("witness.jsonl", "DATA/witness.jsonl")],
)
def test_env__audit_witness_file_setting(tmp_path, raw, expected):
    from cpms.config import env

    environ = {"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)}
    if raw is not None:
        environ["CPMS_AUDIT_WITNESS_FILE"] = raw
    config = env.load(environ)
    wanted = None if expected is None else tmp_path.resolve() / "witness.jsonl"
    assert config.audit_witness_file == wanted


def test_env__audit_witness_file_absolute_path(tmp_path):
    from cpms.config import env

    target = tmp_path / "elsewhere" / "w.jsonl"
    environ = {"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path / "data")}
    environ["CPMS_AUDIT_WITNESS_FILE"] = str(target)
    assert env.load(environ).audit_witness_file == target.resolve()
