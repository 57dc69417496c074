"""Proofs (API, CLI, the offline script), the API endpoints and the console pages."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cpms.audit import services, signing
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditCheckpoint, AuditEntry
from cpms.core.pagination import encode_cursor
from cpms.users.choices import Role

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_proof.py"


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1", display_name="审计员")


@pytest.fixture
def auditor_api(auditor, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(auditor)}")


@pytest.fixture
def auditor_console(auditor):
    client = Client()
    client.force_login(auditor)
    return client


@pytest.fixture
def sealed(make_entries):
    entries = make_entries(20)
    services.audit_seal(settle_seconds=0, checkpoint="force")
    return entries


def run_script(proof: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "-", *args],
        input=json.dumps(proof),
        capture_output=True,
        text=True,
        check=False,
    )


def test_entry_proof__api_proof_checks_offline(sealed, auditor_api):
    # when
    response = auditor_api.get(f"/api/v1/audit/entries/{sealed[7].pk}/proof")
    # then
    assert response.status_code == 200
    proof = response.json()
    checkpoint = AuditCheckpoint.objects.latest("pk")
    assert (proof["leaf_index"], proof["tree_size"], proof["root_hash"]) == (
        sealed[7].leaf.sequence,
        checkpoint.tree_size,
        checkpoint.root_hash,
    )
    key = signing.public_key_bytes().hex()
    done = run_script(proof, "--public-key", key)
    assert (done.returncode, done.stdout.split(":")[0]) == (0, "VALID")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p["entry"]["payload"].update(reason="x"), "content does not match"),
        (lambda p: p.update(leaf_index=p["leaf_index"] + 1), "does not lead"),
        (lambda p: p["audit_path"].reverse(), "does not lead"),
        (lambda p: p["checkpoint"].update(time="2000-01-01T00:00:00.000000Z"), "signature"),
    ],
)
def test_entry_proof__offline_script_rejects_altered_proofs(sealed, change, reason):
    out = StringIO()
    call_command("audit", "prove", str(sealed[3].pk), stdout=out)
    proof = json.loads(out.getvalue())
    assert run_script(proof).returncode == 0
    change(proof)
    done = run_script(proof)
    assert done.returncode == 1
    assert reason in done.stdout


def test_entry_proof__unsealed_and_uncheckpointed_entries_conflict(
    sealed, make_entries, auditor_api
):
    fresh = make_entries(1)[0]
    response = auditor_api.get(f"/api/v1/audit/entries/{fresh.pk}/proof")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "audit.not_sealed")
    services.audit_seal(settle_seconds=0, checkpoint="never")
    response = auditor_api.get(f"/api/v1/audit/entries/{fresh.pk}/proof")
    assert response.json()["error"]["code"] == "audit.not_checkpointed"
    with pytest.raises(CommandError, match=r"audit\.not_checkpointed"):
        call_command("audit", "prove", str(fresh.pk), stdout=StringIO())


def test_entry_list__api_filters_and_cursor(sealed, auditor_api):
    first = auditor_api.get("/api/v1/audit/entries?object_type=branch&limit=15").json()
    assert len(first["items"]) == 15
    rest = auditor_api.get(
        f"/api/v1/audit/entries?object_type=branch&limit=15&cursor={first['next_cursor']}"
    ).json()
    ids = [item["id"] for item in first["items"] + rest["items"]]
    expected = sorted((entry.pk for entry in sealed), reverse=True)
    # the fixture user and branch also wrote branch/user entries before these
    assert [pk for pk in ids if pk in expected] == expected
    assert rest["next_cursor"] is None
    one = auditor_api.get(
        f"/api/v1/audit/entries?object_id={sealed[2].object_id}&object_type=branch"
    )
    assert [item["id"] for item in one.json()["items"]] == [sealed[2].pk]
    item = auditor_api.get(f"/api/v1/audit/entries/{sealed[2].pk}").json()
    assert (item["sequence"], item["after"]) == (sealed[2].leaf.sequence, sealed[2].after)
    bad = auditor_api.get("/api/v1/audit/entries?action=nope")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (422, ["action"])


def test_checkpoints_and_public_key__api(sealed, auditor_api):
    items = auditor_api.get("/api/v1/audit/checkpoints").json()["items"]
    checkpoint = AuditCheckpoint.objects.get()
    assert [(item["id"], item["tree_size"]) for item in items] == [(checkpoint.pk, 20)]
    assert items[0]["signed_message"].startswith("cpms audit checkpoint v1\n20\n")
    key = auditor_api.get("/api/v1/audit/public-key").json()
    assert key["public_key"] == signing.public_key_bytes().hex()
    out = StringIO()
    call_command("audit", "public-key", stdout=out)
    assert key["public_key"] in out.getvalue()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/entries",
        "/api/v1/audit/entries/1",
        "/api/v1/audit/entries/1/proof",
        "/api/v1/audit/checkpoints",
        "/api/v1/audit/public-key",
    ],
)
def test_audit_api__needs_audit_view(sealed, api_client, path):
    before = AuditEntry.objects.exclude(action="access.denied").count()
    assert Client().get(path).status_code == 401
    response = api_client.get(path)  # relationship manager
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_entry_list__console_search_and_pages(sealed, auditor_console):
    response = auditor_console.get("/audit/", {"object_type": "branch", "action": "branch.created"})
    assert response.status_code == 200
    mine = {entry.pk for entry in sealed}
    shown = [entry.pk for entry in response.context["entries"] if entry.pk in mine]
    assert shown == sorted(mine, reverse=True)
    assert response.context["can_export"] is True
    assert response.context["next_query"] == ""
    cursor = encode_cursor([sealed[5].pk])
    older = auditor_console.get("/audit/", {"object_type": "branch", "cursor": cursor})
    assert [entry.pk for entry in older.context["entries"]][:5] == [
        entry.pk for entry in reversed(sealed[:5])
    ]
    bad = auditor_console.get("/audit/", {"since": "yesterday"})
    assert bad.status_code == 200 and bad.context["error"].fields.keys() == {"since"}


def test_entry_export__streams_csv_of_the_filter_and_is_audited(sealed, auditor, auditor_console):
    response = auditor_console.get("/audit/export.csv", {"object_type": "branch", "object_id": "4"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows[0]) == 17 and "Asia/Shanghai" in rows[0][2]  # translated, zone named
    assert [row[0] for row in rows[1:]] == [str(sealed[4].pk)]
    export = AuditEntry.objects.latest("pk")
    assert (export.action, export.actor_id, export.after) == (
        AuditAction.AUDIT_EXPORTED,
        auditor.pk,
        {"filters": {"object_type": "branch", "object_id": "4"}},
    )


def test_audit_console__denied_without_permission(sealed, staff_client):
    before = AuditEntry.objects.exclude(action="access.denied").count()
    for path in ("/audit/", "/audit/export.csv", "/audit/status/"):
        assert staff_client.get(path).status_code == 403
    assert staff_client.post("/audit/verify/").status_code == 403
    assert Client().get("/audit/").status_code == 302
    assert AuditEntry.objects.exclude(action="access.denied").count() == before


def test_audit_console__verify_now_records_the_result(sealed, auditor, auditor_console):
    page = auditor_console.get("/audit/status/")
    assert page.status_code == 200 and page.context["status"]["tree_size"] == 20
    response = auditor_console.post("/audit/verify/")
    assert response.status_code == 200
    assert response.context["result"].ok is True
    record = AuditEntry.objects.latest("pk")
    assert (record.action, record.actor_id, record.after["ok"], record.after["tree_size"]) == (
        AuditAction.AUDIT_VERIFIED,
        auditor.pk,
        True,
        20,
    )
