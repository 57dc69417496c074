"""Several OS processes hammering a few hot accounts on PostgreSQL (issue 5 item 2 and 10).

Five worker processes (each its own Python interpreter and database connection, started with
`subprocess`) post at the same moment through the public services: single transfers in both
directions between two customer cash accounts (no-negative) and the firm's client-money bank
and fees accounts (hot internal accounts, sharded), linked batches, and holds that are later
posted or voided. Each worker reports exactly what it posted successfully; afterwards:

- every account's posted debit and credit totals equal the seed plus the sum of the reports
  (no lost update, nothing posted twice, nothing refused that is counted as posted);
- no pending amount is left (every hold was resolved);
- no worker saw any error other than the expected refusals for insufficient funds — in
  particular no DeadlockDetected and no SerializationFailure;
- `ledger_check()` is clean (per-asset sums, shard = its transfers, no forbidden negative).

The workers connect to pytest-django's test database, so the seed must be committed
(transactional test). PostgreSQL only: SQLite has a single writer and the in-memory test
database cannot be shared between processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from cpms.ledger import selectors
from cpms.ledger.checks import ledger_check
from cpms.ledger.models import Balance, Transfer
from tests.audit.helpers import audit_flushable  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: worker processes cannot share the SQLite test database",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

WORKERS = 5
OPERATIONS = 60  # per worker
SEED = 500_000  # fen credited to each customer account before the race
REPO = Path(__file__).resolve().parents[2]

# The worker: its own interpreter, Django set up on the test database (DATABASE_URL from the
# parent), waits for the start signal, then posts OPERATIONS random operations and prints one
# JSON line: per account id the posted debits and credits it caused, and its counters.
WORKER = r"""
import json, os, random, sys, time
import django

django.setup()
from django.db import connection
from django.utils import translation

from cpms.ledger import services
from cpms.ledger.errors import InsufficientFunds
from cpms.users.models import User

translation.activate("en")
number, operations, ready, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
codes = json.loads(sys.argv[5])
actor = User.objects.get(username=sys.argv[6])
rng = random.Random(1000 + number)
ids = {code: int(pk) for code, pk in codes.items()}
posted = {code: [0, 0] for code in codes}  # code -> [debits_posted, credits_posted]
counts = {"transfers": 0, "batches": 0, "held": 0, "held_posted": 0, "held_voided": 0,
          "refused": 0, "rows": 0}
errors = []
holds = []

def pair():
    debit, credit = rng.sample(sorted(codes), 2)
    return debit, credit

def item(debit, credit, **extra):
    return {"debit_account": debit, "credit_account": credit,
            "amount_minor": rng.randint(1, 400_000), **extra}

def book(debit, credit, amount):
    posted[debit][0] += amount
    posted[credit][1] += amount

def attempt(action):
    try:
        action()
    except InsufficientFunds:
        counts["refused"] += 1
    except Exception as exc:  # every other error fails the test, with its cause
        cause = exc.__cause__
        errors.append(f"{type(exc).__name__}: {exc} (cause {type(cause).__name__}: {cause})")

def single():
    data = item(*pair(), reference=f"W{number}")
    services.transfer_post(actor=actor, data=data)
    book(data["debit_account"], data["credit_account"], data["amount_minor"])
    counts["transfers"] += 1
    counts["rows"] += 1

def batch():
    items = [item(*pair(), reference=f"W{number}B") for _ in range(rng.randint(2, 6))]
    services.transfers_post(actor=actor, items=items)
    for data in items:
        book(data["debit_account"], data["credit_account"], data["amount_minor"])
    counts["batches"] += 1
    counts["rows"] += len(items)

def hold():
    data = item(*pair(), reference=f"W{number}H", pending=True)
    transfer = services.transfer_post(actor=actor, data=data).transfer
    holds.append((transfer.pk, data))
    counts["held"] += 1
    counts["rows"] += 1

def resolve():
    pk, data = holds.pop(rng.randrange(len(holds)))
    if rng.random() < 0.6:
        services.hold_post(actor=actor, transfer_id=pk)
        book(data["debit_account"], data["credit_account"], data["amount_minor"])
        counts["held_posted"] += 1
    else:
        services.hold_void(actor=actor, transfer_id=pk, reason="race")
        counts["held_voided"] += 1
    counts["rows"] += 1

open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
for _ in range(operations):
    roll = rng.random()
    if holds and roll < 0.15:
        attempt(resolve)
    elif roll < 0.60:
        attempt(single)
    elif roll < 0.80:
        attempt(batch)
    else:
        attempt(hold)
while holds:
    attempt(resolve)
connection.close()
print(json.dumps({"posted": posted, "counts": counts, "errors": errors}))
"""


def _database_url() -> str:
    """The URL of pytest-django's test database (NAME is the test database's name)."""
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "postgres")
    password = settings.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}" if password else user
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"


def _totals() -> dict[int, list[int]]:
    totals: dict[int, list[int]] = {}
    for account_id, dp, cp, dh, ch in Balance.objects.values_list(
        "account_id", "debits_posted", "credits_posted", "debits_pending", "credits_pending"
    ):
        total = totals.setdefault(account_id, [0, 0, 0, 0])
        for index, value in enumerate((dp, cp, dh, ch)):
            total[index] += value
    return totals


def _race(accounts: list, actor) -> list[dict]:
    codes = {account.code: account.pk for account in accounts}
    scratch = Path(tempfile.mkdtemp(prefix="cpms-ledger-race-"))
    go = scratch / "go"
    env = {**os.environ, "DATABASE_URL": _database_url()}
    workers = []
    for number in range(WORKERS):
        ready = scratch / f"ready-{number}"
        command = [
            sys.executable,
            "-c",
            WORKER,
            str(number),
            str(OPERATIONS),
            str(ready),
            str(go),
            json.dumps(codes),
            actor.get_username(),
        ]
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        workers.append((process, ready))
    # generous limits: starting Django in five interpreters takes seconds on a busy machine
    deadline = time.monotonic() + 120
    try:
        while not all(ready.exists() for _process, ready in workers):
            failed = [process for process, _ready in workers if process.poll() is not None]
            assert not failed, failed[0].communicate()[1][-3000:]
            assert time.monotonic() < deadline, "workers did not start in time"
            time.sleep(0.02)
        go.touch()  # all start posting at the same moment
        deadline = time.monotonic() + 120
        reports = []
        for process, _ready in workers:
            out, err = process.communicate(timeout=max(5.0, deadline - time.monotonic()))
            assert process.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for process, _ready in workers:
            if process.poll() is None:
                process.kill()


def test_concurrent_workers__exact_balances_no_deadlock(
    finance, bank, fees, cash, other_cash, fund
):
    fund(cash, SEED)
    fund(other_cash, SEED)
    accounts = [cash, other_cash, bank, fees]
    before = _totals()
    rows_before = Transfer.objects.count()

    reports = _race(accounts, finance)

    summary = {
        name: sum(report["counts"][name] for report in reports) for name in reports[0]["counts"]
    }
    print("race:", summary)  # visible with -s
    errors = [error for report in reports for error in report["errors"]]
    deadlocks = [e for e in errors if "Deadlock" in e or "deadlock" in e]
    serialization = [e for e in errors if "Serialization" in e or "serializ" in e]
    assert deadlocks == []
    assert serialization == []
    assert errors == []
    after = _totals()
    for account in accounts:
        debits = sum(report["posted"][account.code][0] for report in reports)
        credits = sum(report["posted"][account.code][1] for report in reports)
        was = before.get(account.pk, [0, 0, 0, 0])
        assert after[account.pk] == [was[0] + debits, was[1] + credits, 0, 0], account.code
    rows = sum(report["counts"]["rows"] for report in reports)
    assert Transfer.objects.count() - rows_before == rows
    posted_work = sum(
        report["counts"]["transfers"] + report["counts"]["batches"] for report in reports
    )
    assert posted_work > WORKERS * OPERATIONS // 3  # the race really posted
    assert selectors.account_balance(cash).posted >= 0
    assert selectors.account_balance(other_cash).posted >= 0
    # the hot accounts spread their postings over several shards
    used = Balance.objects.filter(account=bank).exclude(debits_posted=0, credits_posted=0)
    assert used.count() > 1
    result = ledger_check()
    assert result.ok, result.problems
