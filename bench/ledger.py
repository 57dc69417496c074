"""Ledger performance (issue 5 item 11): figures printed, nothing asserted.

    .venv/bin/python bench/ledger.py [--quick] [--databases sqlite,postgres]
        [--database-url postgres://postgres@127.0.0.1:5432/cpms_bench_ledger] [--profile]

Each database runs in its own child process on a scratch database (SQLite in a temp dir; the
PostgreSQL database is created and dropped by the script). What is measured:

1. single transfers through `services.transfer_post` (permission, scope, validation, approval
   threshold, engine, one audit entry, one transaction each): client-money bank account (hot,
   16 shards) -> a random customer cash account, at 1 and 4 writers (separate OS processes,
   each with its own connection), for a fixed time — transfers/s;
2. PostgreSQL only: pgbench running the equivalent SQL transfer on the same server (lock the two
   balance rows in id order, update both, insert the transfer row and an audit-like row, commit)
   at 1 and 4 clients — tps, and the ratio CPMS / pgbench (goal >= 0.5);
3. batches of 8,190 transfers through `services.transfers_post` (one audit entry per batch) —
   transfers/s (goal >= 20,000/s); `--profile` prints a cProfile of one batch;
4. N postings (1M in the full run) written by direct SQL (COPY on PostgreSQL, executemany on
   SQLite; the balance shards updated with the same totals, then `ledger_check` proves the
   result consistent), then the trial balance: `selectors.trial_balance()` (from the balance
   shards) and a recompute from the postings (GROUP BY over the transfers table) — seconds
   (goal <= 0.5 s), against `ledger -f journal bal` on the journal written by
   `cpms.ledger.export.write_journal` — ratio (goal >= 10x);
5. one monthly statement (`selectors.account_statement`) of a customer account with a few
   hundred lines a month among those N postings — p50/p95/p99 ms (goal p99 <= 30 ms).

--quick: small sizes (50k postings, short runs) to check the bench works; figures from a loaded
machine mean little. The full run is for a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import io
import json
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve()
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/cpms_bench_ledger"
PASSWORD = "bench-password-2026"
YEAR = 2025  # the generated postings' value dates (a past year: no period close in the way)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文"

FULL = {
    "seconds": 20.0,
    "batches": 10,
    "postings": 1_000_000,
    "statements": 500,
    "tb_repeat": 20,
}
QUICK = {
    "seconds": 2.0,
    "batches": 1,
    "postings": 20_000,
    "statements": 50,
    "tb_repeat": 3,
}
LINES_PER_ACCOUNT = 4_000  # ~330 statement lines a month per customer account over a year


# ------------------------------------------------------------------------ helpers


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for version in ("17", "16", "15"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    return None


def call(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run one of our tools (PostgreSQL's, ledger-cli, this script) to completion."""
    return subprocess.run(command, check=False, **kwargs)  # noqa: S603 (fixed programs)


def pg_args(url: str) -> list[str]:
    parsed = urlparse(url)
    args = ["-h", parsed.hostname or "127.0.0.1", "-U", parsed.username or "postgres"]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    return args


def pg_env(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env


# ------------------------------------------------------------------------ set-up


def make_users():
    from cpms.access import staff as access_staff
    from cpms.users import services
    from cpms.users.choices import Role

    branch = services.branch_ensure(actor=None, code="BENCH", name="基准分行")
    finance = access_staff.user_create(
        actor=None,
        username="bench-finance",
        password=PASSWORD,
        roles=[Role.FINANCE_OFFICER.value],
        branch=branch,
    )
    manager = access_staff.user_create(
        actor=None,
        username="bench-rm",
        password=PASSWORD,
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    return finance, manager


def _resident_id(rng: random.Random) -> str:
    from stdnum.cn import ric

    birth = datetime.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    body = f"110101{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def make_customer_accounts(count: int, manager, finance) -> list:
    """`count` customers registered through the service, each with a CNY cash account."""
    from django.db import transaction

    from cpms.customers.services import customer_register
    from cpms.ledger import services
    from cpms.ledger.choices import AccountPurpose

    rng = random.Random(5)
    accounts = []
    seen: set[str] = set()
    for number in range(count):
        identity = _resident_id(rng)
        while identity in seen:
            identity = _resident_id(rng)
        seen.add(identity)
        customer = customer_register(
            actor=manager,
            data={
                "kind": "individual",
                "legal_name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                "identity_kind": "resident_id",
                "identity_number": identity,
                "phone": f"1390{number:07d}",
                "email": f"bench{number}@example.com",
                "risk_rating": "low",
                "relationship_manager_id": manager.pk,
            },
        )
        with transaction.atomic():
            accounts.append(
                services.customer_account(
                    customer=customer,
                    purpose=AccountPurpose.CUSTOMER_CASH,
                    asset_code="CNY",
                    actor=finance,
                )
            )
    return accounts


def internal_accounts(finance) -> dict[str, object]:
    from django.db import transaction

    from cpms.ledger import services
    from cpms.ledger.choices import AccountPurpose

    with transaction.atomic():
        return {
            name: services.internal_account(asset_code="CNY", purpose=purpose, actor=finance)
            for name, purpose in (
                ("bank", AccountPurpose.CLIENT_BANK),
                ("settlement", AccountPurpose.SETTLEMENT),
                ("fees", AccountPurpose.FEES),
            )
        }


# ------------------------------------------------------------------------ 1. single transfers


def worker(config_path: str) -> None:
    """Child process: post single transfers for `seconds` once the go file appears."""
    # the parent's environment names the database and data directory; no migrate here
    sys.path.insert(0, str(HERE.parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import translation

    settings.DEBUG = False

    from cpms.ledger import services
    from cpms.users.models import User

    translation.activate("en")
    config = json.loads(Path(config_path).read_text())
    actor = User.objects.get(username=config["user"])
    rng = random.Random(config["seed"])
    credits = config["credit"]
    Path(config["ready"]).touch()
    while not Path(config["go"]).exists():
        time.sleep(0.002)
    done = errors = 0
    start = time.perf_counter()
    stop = start + config["seconds"]
    while time.perf_counter() < stop:
        try:
            services.transfer_post(
                actor=actor,
                data={
                    "debit_account": config["debit"],
                    "credit_account": rng.choice(credits),
                    "amount_minor": rng.randint(100, 1_000_000),
                    "reference": "BENCH single",
                },
            )
            done += 1
        except Exception:  # counted and reported; a benchmark does not stop on one
            errors += 1
    elapsed = time.perf_counter() - start
    connection.close()
    print(json.dumps({"done": done, "errors": errors, "seconds": elapsed}))


def single_transfers(writers: int, seconds: float, finance, bank, customers) -> float:
    scratch = Path(tempfile.mkdtemp(prefix="cpms-bench-ledger-"))
    go = scratch / "go"
    processes = []
    for number in range(writers):
        config = scratch / f"worker-{number}.json"
        config.write_text(
            json.dumps(
                {
                    "user": finance.get_username(),
                    "seed": number,
                    "debit": bank.code,
                    "credit": [account.code for account in customers],
                    "seconds": seconds,
                    "ready": str(scratch / f"ready-{number}"),
                    "go": str(go),
                }
            )
        )
        processes.append(
            subprocess.Popen(  # noqa: S603 (our own interpreter and script)
                [sys.executable, str(HERE), "--worker", str(config)],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    while not all((scratch / f"ready-{n}").exists() for n in range(writers)):
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a bench worker failed to start")
        time.sleep(0.01)
    go.touch()
    results = []
    for process in processes:
        out, _err = process.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    shutil.rmtree(scratch, ignore_errors=True)
    done = sum(result["done"] for result in results)
    errors = sum(result["errors"] for result in results)
    longest = max(result["seconds"] for result in results)
    rate = done / longest
    note = f"  ({errors} errors)" if errors else ""
    line(f"single transfers, {writers} writer(s)", f"{rate:9,.0f} transfers/s{note}")
    return rate


# ------------------------------------------------------------------------ 2. pgbench

PGBENCH_SETUP = """
DROP TABLE IF EXISTS pgb_audit, pgb_transfer, pgb_balance;
CREATE TABLE pgb_balance (id integer PRIMARY KEY, debits bigint NOT NULL DEFAULT 0,
    credits bigint NOT NULL DEFAULT 0);
INSERT INTO pgb_balance (id) SELECT generate_series(1, {rows});
CREATE TABLE pgb_transfer (id bigserial PRIMARY KEY, idempotency_key varchar(80) UNIQUE,
    debit_id integer NOT NULL REFERENCES pgb_balance, credit_id integer NOT NULL
    REFERENCES pgb_balance, amount bigint NOT NULL, reference varchar(140) NOT NULL,
    value_date date NOT NULL, metadata jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON pgb_transfer (debit_id, value_date, id);
CREATE INDEX ON pgb_transfer (credit_id, value_date, id);
CREATE TABLE pgb_audit (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL,
    action varchar(64) NOT NULL, object_id varchar(64) NOT NULL, after jsonb,
    entry_hash char(64) NOT NULL);
CREATE INDEX ON pgb_audit (created_at);
"""

# bank shards are ids 1..16, customer balances 17..16+N: the bank id is always the lower one,
# so the two rows are locked in id order as the engine does
PGBENCH_SCRIPT = """\\set bank random(1, 16)
\\set customer random(17, {last})
\\set amount random(100, 1000000)
BEGIN;
SELECT id FROM pgb_balance WHERE id IN (:bank, :customer) ORDER BY id FOR UPDATE;
UPDATE pgb_balance SET debits = debits + :amount WHERE id = :bank;
UPDATE pgb_balance SET credits = credits + :amount WHERE id = :customer;
INSERT INTO pgb_transfer (idempotency_key, debit_id, credit_id, amount, reference, value_date,
    metadata, created_at) VALUES (md5(random()::text), :bank, :customer, :amount,
    'BENCH single', current_date, '{{}}', now());
INSERT INTO pgb_audit (created_at, action, object_id, after, entry_hash) VALUES (now(),
    'ledger.transfer_posted', currval('pgb_transfer_id_seq')::text,
    json_build_object('amount_minor', :amount, 'debit', :bank, 'credit', :customer),
    md5(random()::text) || md5(random()::text));
COMMIT;
"""


def pgbench(url: str, clients: int, seconds: float, customers: int) -> float | None:
    tool = pg_tool("pgbench")
    if tool is None:
        line(f"pgbench, {clients} client(s)", "pgbench not found")
        return None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(PGBENCH_SETUP.format(rows=16 + customers))
    scratch = Path(tempfile.mkdtemp(prefix="cpms-pgbench-"))
    script = scratch / "transfer.sql"
    script.write_text(PGBENCH_SCRIPT.format(last=16 + customers))
    name = urlparse(url).path.lstrip("/")
    command = [tool, *pg_args(url), "-n", "-f", str(script), "-c", str(clients)]
    command += ["-j", str(clients), "-T", str(max(1, round(seconds))), name]
    result = call(command, capture_output=True, text=True, env=pg_env(url))
    shutil.rmtree(scratch, ignore_errors=True)
    found = re.search(r"tps = ([0-9.]+)", result.stdout)
    if result.returncode != 0 or not found:
        line(f"pgbench, {clients} client(s)", f"failed: {result.stderr.strip()[-200:]}")
        return None
    tps = float(found.group(1))
    line(f"pgbench equivalent SQL transfer, {clients} client(s)", f"{tps:9,.0f} tps")
    return tps


# ------------------------------------------------------------------------ 3. batches


@contextlib.contextmanager
def policy_read_once():
    """Simulates the change proposed for `ledger.services._hold_for_approval`: read the
    `ledger.transfer` approval policy once per batch instead of once per transfer."""
    from cpms.approvals import services as approvals

    original = approvals.approval_required
    policies: dict[str, object] = {}

    def required(action: str, amount_minor=None, currency=None) -> bool:
        if action not in policies:
            policies[action] = approvals._policy(action)
        return approvals._policy_requires(policies[action], amount_minor, currency)

    approvals.approval_required = required
    try:
        yield
    finally:
        approvals.approval_required = original


def batches(count: int, finance, bank, customers, *, profile: bool, label: str) -> float:
    from cpms.ledger import engine, services

    rng = random.Random(3)
    size = engine.MAX_BATCH
    codes = [account.code for account in customers]
    total = cpu = 0.0
    posted = 0
    for number in range(count):
        items = [
            {
                "debit_account": bank.code,
                "credit_account": rng.choice(codes),
                "amount_minor": rng.randint(100, 1_000_000),
                "reference": f"BENCH batch {number}",
            }
            for _ in range(size)
        ]
        profiler = cProfile.Profile() if profile and number == count - 1 else None
        start, used = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        outcome = services.transfers_post(actor=finance, items=items)
        if profiler:
            profiler.disable()
        total += time.perf_counter() - start
        cpu += time.process_time() - used
        posted += len(outcome.transfers)
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            print(text.getvalue())
    rate = posted / total
    line(
        f"batched transfers ({count} x {size:,}){label}",
        f"{rate:9,.0f} transfers/s  ({posted / cpu:,.0f} per CPU-second of this process)",
    )
    return rate


# ------------------------------------------------------------------------ 4. 1M postings

TRANSFER_COLUMNS = (
    "idempotency_key",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "debit_shard",
    "credit_shard",
    "asset_id",
    "amount",
    "reference",
    "value_date",
    "metadata",
    "created_at",
)


def generate_postings(count: int, customers, internal) -> float:
    """`count` posted transfers written by direct SQL, spread over the year YEAR: deposits
    from the bank (70%), payments to settlement (25%) and fees (5%) of random customer cash
    accounts (payments are small, so no customer balance ends below zero); the balance shards
    get exactly the same totals. Returns the seconds taken."""
    from django.db import connection, transaction
    from django.utils import timezone

    rng = random.Random(11)
    bank, settlement, fees = internal["bank"], internal["settlement"], internal["fees"]
    asset_id = bank.asset_id
    ids = [account.pk for account in customers]
    first = datetime.date(YEAR, 1, 1)
    days = 365
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    created = now if postgres else now.replace(tzinfo=None).isoformat(" ")
    deltas: dict[tuple[int, int], list[int]] = {}

    def add(account_id: int, shard: int, index: int, amount: int) -> None:
        deltas.setdefault((account_id, shard), [0, 0])[index] += amount

    def rows(start: int, stop: int):
        for number in range(start, stop):
            customer = rng.choice(ids)
            roll = rng.random()
            shard = rng.randrange(16)
            if roll < 0.70:
                debit, credit, amount = (bank.pk, shard), (customer, 0), rng.randint(1000, 100_000)
            elif roll < 0.95:
                debit, credit, amount = (customer, 0), (settlement.pk, shard), rng.randint(1, 1000)
            else:
                debit, credit, amount = (customer, 0), (fees.pk, shard), rng.randint(1, 500)
            add(*debit, 0, amount)
            add(*credit, 1, amount)
            day = first + datetime.timedelta(days=rng.randrange(days))
            yield (
                f"gen:{number}",
                "posted",
                debit[0],
                credit[0],
                debit[1],
                credit[1],
                asset_id,
                amount,
                f"GEN {number}",
                day if postgres else day.isoformat(),
                "{}",
                created,
            )

    start = time.perf_counter()
    chunk = 50_000
    columns = ", ".join(TRANSFER_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        for offset in range(0, count, chunk):
            part = rows(offset, min(count, offset + chunk))
            if postgres:
                with cursor.copy(f"COPY ledger_transfer ({columns}) FROM STDIN") as copy:
                    for row in part:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(TRANSFER_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO ledger_transfer ({columns}) VALUES ({marks})",  # noqa: S608
                    list(part),
                )
        cursor.executemany(
            "UPDATE ledger_balance SET debits_posted = debits_posted + %s, "
            "credits_posted = credits_posted + %s WHERE account_id = %s AND shard = %s",
            [(d, c, account, shard) for (account, shard), (d, c) in deltas.items()],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - start


RECOMPUTE = """
SELECT account_id, SUM(debits), SUM(credits) FROM (
    SELECT debit_account_id AS account_id, SUM(amount) AS debits, 0 AS credits
    FROM ledger_transfer WHERE kind IN ('posted', 'post_pending') GROUP BY debit_account_id
    UNION ALL
    SELECT credit_account_id, 0, SUM(amount)
    FROM ledger_transfer WHERE kind IN ('posted', 'post_pending') GROUP BY credit_account_id
) AS sides GROUP BY account_id
"""


def trial_balance(repeat: int) -> tuple[float, float, dict[int, int]]:
    from django.db import connection

    from cpms.ledger import selectors

    def shards() -> list:
        return selectors.trial_balance()

    def recompute() -> list:
        with connection.cursor() as cursor:
            cursor.execute(RECOMPUTE)
            return cursor.fetchall()

    timings = {}
    for name, function in (("shards", shards), ("recompute", recompute)):
        function()
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = function()
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples)
        if name == "shards":
            from_shards = {row.account_id: row.net_debit for row in result}
        else:
            from_postings = {row[0]: int(row[1]) - int(row[2]) for row in result}
    same = all(from_shards.get(pk, 0) == net for pk, net in from_postings.items())
    line(
        "trial balance, selectors.trial_balance (shards)",
        f"{timings['shards'] * 1000:9.1f} ms  ({len(from_shards)} accounts)",
    )
    line(
        "trial balance, recompute from postings (GROUP BY)",
        f"{timings['recompute'] * 1000:9.1f} ms  (agrees with the shards: {same})",
    )
    return timings["shards"], timings["recompute"], from_shards


def write_journal(path: Path) -> float:
    """The ledger-cli journal of every posting: `cpms.ledger.export.write_journal`."""
    from cpms.ledger import export

    start = time.perf_counter()
    with path.open("w", encoding="utf-8") as stream:
        export.write_journal(stream, fmt="ledger")
    return time.perf_counter() - start


def ledger_cli(path: Path) -> float | None:
    tool = shutil.which("ledger")
    if tool is None:
        line("ledger -f journal bal", "ledger not installed (apt-get install ledger)")
        return None
    start = time.perf_counter()
    result = call([tool, "-f", str(path), "bal"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        line("ledger -f journal bal", f"failed: {result.stderr.strip()[-200:]}")
        return None
    line("ledger -f journal bal (ledger-cli)", f"{seconds * 1000:9.1f} ms")
    return seconds


# ------------------------------------------------------------------------ 5. statements


def statements(samples: int, customers) -> list[float]:
    from cpms.ledger import selectors

    rng = random.Random(17)
    timings = []
    lines = []
    for _ in range(samples + 5):
        account = rng.choice(customers)
        month = rng.randint(1, 12)
        start = datetime.date(YEAR, month, 1)
        end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        begin = time.perf_counter()
        statement = selectors.account_statement(account, start=start, end=end)
        timings.append(time.perf_counter() - begin)
        lines.append(len(statement.lines))
    timings = timings[5:]  # the first few warm caches
    ms = [value * 1000 for value in timings]
    line(
        f"monthly statement ({statistics.median(lines):.0f} lines median, n={samples})",
        f"p50 {percentile(ms, 0.5):6.1f}  p95 {percentile(ms, 0.95):6.1f}  "
        f"p99 {percentile(ms, 0.99):6.1f} ms",
    )
    return ms


# ------------------------------------------------------------------------ one database


def run(url: str, sizes: dict, *, quick: bool, profile: bool) -> None:
    from _django import setup

    os.environ["BENCH_DATABASE_URL"] = url
    setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import translation

    settings.DEBUG = False  # as in production: no query log (CPMS_DEBUG=1 only for set-up)

    from cpms.ledger.checks import ledger_check

    translation.activate("en")
    postgres = connection.vendor == "postgresql"
    count = max(10, sizes["postings"] // LINES_PER_ACCOUNT)
    print(f"\n== {connection.vendor} ({'quick' if quick else 'full'} sizes)", flush=True)
    finance, manager = make_users()
    start = time.perf_counter()
    customers = make_customer_accounts(count, manager, finance)
    internal = internal_accounts(finance)
    line("set-up: customers with a cash account", f"{count} in {time.perf_counter() - start:.1f} s")
    bank = internal["bank"]

    print("1-2. single transfers (transfer_post, one audit entry each)", flush=True)
    single = {n: single_transfers(n, sizes["seconds"], finance, bank, customers) for n in (1, 4)}
    if postgres:
        for clients in (1, 4):
            tps = pgbench(url, clients, sizes["seconds"], count)
            if tps:
                line(
                    f"ratio CPMS / pgbench at {clients} (goal >= 0.5)",
                    f"{single[clients] / tps:9.2f}x",
                )
    else:
        line("pgbench", "n/a on SQLite")

    print("3. batches (transfers_post, one audit entry per batch)", flush=True)
    batches(sizes["batches"], finance, bank, customers, profile=False, label="")
    with policy_read_once():
        batches(sizes["batches"], finance, bank, customers, profile=profile, label=", policy once")

    print(f"4. trial balance over {sizes['postings']:,} generated postings", flush=True)
    seconds = generate_postings(sizes["postings"], customers, internal)
    line(
        "generate postings (direct SQL: COPY / executemany)",
        f"{seconds:.1f} s, {sizes['postings'] / seconds:,.0f} rows/s",
    )
    start = time.perf_counter()
    check = ledger_check()
    line(
        "ledger_check over everything",
        f"{time.perf_counter() - start:.1f} s, ok={check.ok}, {check.transfers:,} transfers",
    )
    for problem in check.problems[:5]:
        print("    ", problem)
    shards, recompute, _ = trial_balance(sizes["tb_repeat"])
    scratch = Path(tempfile.mkdtemp(prefix="cpms-bench-journal-"))
    journal = scratch / "journal.ledger"
    written = write_journal(journal)
    size = journal.stat().st_size / 1e6
    line("export.write_journal (ledger format)", f"{written:.1f} s, {size:,.0f} MB")
    cli = ledger_cli(journal)
    if cli:
        line("ratio ledger bal / trial_balance (goal >= 10x)", f"{cli / shards:9,.0f}x")
        line("ratio ledger bal / recompute from postings", f"{cli / recompute:9,.1f}x")
    shutil.rmtree(scratch, ignore_errors=True)

    print("5. monthly statement of one customer account", flush=True)
    statements(sizes["statements"], customers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a couple of minutes")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL (created, dropped)")
    parser.add_argument("--profile", action="store_true", help="cProfile one batch")
    parser.add_argument("--postings", type=int, default=None, help="override the 1M postings")
    parser.add_argument("--only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    sizes = dict(QUICK if args.quick else FULL)
    if args.postings:
        sizes["postings"] = args.postings
    if args.only:
        run(args.only, sizes, quick=args.quick, profile=args.profile)
        return
    for database in [name.strip() for name in args.databases.split(",") if name.strip()]:
        extra = ["--quick"] if args.quick else []
        if args.postings:
            extra += ["--postings", str(args.postings)]
        if args.profile:
            extra.append("--profile")
        if database == "sqlite":
            scratch = tempfile.mkdtemp(prefix="cpms-bench-ledger-")
            url = f"sqlite:///{scratch}/bench.sqlite3"
            call([sys.executable, str(HERE), "--only", url, *extra])
            shutil.rmtree(scratch, ignore_errors=True)
        elif database == "postgres":
            url = args.database_url
            name = urlparse(url).path.lstrip("/")
            env = pg_env(url)
            tools = [pg_tool("dropdb"), pg_tool("createdb")]
            if None in tools:
                print("createdb/dropdb not found: PostgreSQL skipped")
                continue
            call([tools[0], "--if-exists", *pg_args(url), name], env=env, capture_output=True)
            made = call([tools[1], *pg_args(url), name], env=env)
            if made.returncode != 0:
                print(f"cannot create {name}: PostgreSQL skipped")
                continue
            try:
                call([sys.executable, str(HERE), "--only", url, *extra])
            finally:
                call([tools[0], "--if-exists", *pg_args(url), name], env=env)
        else:
            print(f"unknown database {database!r}: use sqlite and/or postgres")


if __name__ == "__main__":
    main()
