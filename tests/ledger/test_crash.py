"""A process killed in the middle of posting a batch leaves all of it or nothing.

Child Python processes post a linked batch of 8,190 transfers through `services.transfers_post`
against a real database (an SQLite file; also PostgreSQL when DATABASE_URL points at one) and
are SIGKILLed after various delays. No test hook is needed in production code: the kill lands
wherever the child happens to be. Afterwards a fresh process finds, for each attempt, either
every transfer of the batch or none, and every invariant holds (`ledger_check`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BATCH = 8190
# seconds after the child starts posting; under load the batch takes one to several seconds
DELAYS = (0.1, 0.6, 1.5)

CHILD = r"""
import json, sys
import django
django.setup()
from django.db import transaction
from cpms.access import staff as access_staff
from cpms.ledger import services
from cpms.ledger.checks import ledger_check
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Transfer
from cpms.users import services as users
from cpms.users.models import User

mode, size, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if mode == "setup":
    branch = users.branch_ensure(actor=None, code="T01", name="Test", city="Hangzhou")
    access_staff.user_create(actor=None, username="crash", password="crash-crash-crash-1",
                      roles=["finance_officer"], branch=branch)
    with transaction.atomic():
        for purpose in (AccountPurpose.CLIENT_BANK, AccountPurpose.SETTLEMENT):
            services.internal_account(asset_code="CNY", purpose=purpose)
    print("READY", flush=True)
    sys.exit(0)
counts = {
    str(n): Transfer.objects.filter(idempotency_key__startswith=f"crash:{n}:").count()
    for n in range(attempts)
}
result = ledger_check()
print(json.dumps({"counts": counts, "ok": result.ok, "problems": result.problems[:20]}),
      flush=True)
if mode == "post":
    actor = User.objects.get(username="crash")
    items = [
        {"debit_account": "INT:CLIENT_BANK:CNY", "credit_account": "INT:SETTLEMENT:CNY",
         "amount_minor": 1 + i % 97, "reference": f"crash {attempts} {i}",
         "idempotency_key": f"crash:{attempts}:{i}"}
        for i in range(size)
    ]
    print("START", flush=True)
    services.transfers_post(actor=actor, items=items)
    print("DONE", flush=True)
"""


def _environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="cpms.config.settings",
        DATABASE_URL=database_url,
        CPMS_DATA_DIR=str(tmp_path / "data"),
        CPMS_DEBUG="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _child(script: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(script: Path, env: dict, attempts: int) -> dict:
    done = subprocess.run(
        [sys.executable, str(script), "verify", "0", str(attempts)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0])


def _prepare(tmp_path: Path, env: dict) -> Path:
    (tmp_path / "data").mkdir()
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    migrate = subprocess.run(
        [sys.executable, "-m", "cpms.cli", "migrate", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    setup = subprocess.run(
        [sys.executable, str(script), "setup", "0", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert setup.stdout.strip() == "READY", setup.stderr
    return script


def _check(state: dict) -> None:
    assert state["ok"], state["problems"]
    assert set(state["counts"].values()) <= {0, BATCH}, state["counts"]


def _kill_during_batch(script: Path, env: dict, attempt: int, delay: float) -> bool:
    """Start posting batch `attempt`, SIGKILL it `delay` s after it starts. The child first
    reports (and this checks) the state the earlier attempts left. True when the kill landed
    before the child finished."""
    child = _child(script, env, "post", str(BATCH), str(attempt))
    try:
        _check(json.loads(child.stdout.readline()))
        assert child.stdout.readline().strip() == "START", child.stderr.read()
        time.sleep(delay)
        finished = child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
    return not finished and child.returncode == -signal.SIGKILL


def _crash_and_check(tmp_path: Path, database_url: str) -> None:
    env = _environment(tmp_path, database_url)
    script = _prepare(tmp_path, env)
    killed = sum(
        _kill_during_batch(script, env, attempt, delay) for attempt, delay in enumerate(DELAYS)
    )
    assert killed >= 1, "every child finished before it could be killed"
    # a batch posted to completion afterwards (its child checks the killed attempts first):
    # all of it, once
    final = len(DELAYS)
    done = _child(script, env, "post", str(BATCH), str(final))
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    lines = out.splitlines()
    _check(json.loads(lines[0]))
    assert lines[-1] == "DONE"
    state = _state(script, env, final + 1)
    _check(state)
    assert state["counts"][str(final)] == BATCH


def test_batch_killed_midway__sqlite_file_keeps_all_or_nothing(tmp_path):
    _crash_and_check(tmp_path, f"sqlite:///{tmp_path / 'crash.sqlite3'}")


@pytest.mark.postgres_only
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs DATABASE_URL=postgres://... (runs a scratch database next to it)",
)
def test_batch_killed_midway__postgresql_keeps_all_or_nothing(tmp_path):
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"cpms_crash_{uuid.uuid4().hex[:10]}"
    server = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        host = server["host"] or "localhost"
        port = server["port"] or 5432
        credentials = server["user"] or ""
        if server["password"]:
            credentials += f":{server['password']}"
        url = f"postgres://{credentials}@{host}:{port}/{name}"
        _crash_and_check(tmp_path, url)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
