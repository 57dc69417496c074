"""Audit trail: cost of an audited write against the same write unaudited and with
django-simple-history; batched sealing rate; full verification rate; inclusion proof latency.

    .venv/bin/python bench/audit.py [--entries N] [--writes N] [--long]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python bench/audit.py

Goals (issue 3): audited write <= 1.3x unaudited and >= 3x cheaper than simple-history;
sealing >= 100k entries/s; verify >= 1M entries/s; proof <= 1 ms at 1M entries (10M: --long).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import time
from datetime import timedelta

os.environ["CPMS_EXTRA_APPS"] = "simple_history,bench.benchapp"

from _django import report, setup, timed


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def bench_writes(writes: int) -> None:
    """The same row written three ways, each in its own transaction, by the same actor whose
    grants are already loaded (as they are in a request, where permission checks load them):
    plain; plus audit_record; with django-simple-history recording that actor."""
    from django.db import transaction

    from bench.benchapp.models import HistoryItem, PlainItem
    from cpms.access import staff as access_staff
    from cpms.access.checks import active_grants
    from cpms.audit.choices import AuditAction
    from cpms.audit.services import audit_record

    actor = access_staff.user_create(
        actor=None, username="bench-actor", password="bench-password-2026", roles=["auditor"]
    )
    active_grants(actor)  # the per-request cache a view's permission check fills
    counter = iter(range(10**9))

    def plain() -> None:
        with transaction.atomic():
            PlainItem.objects.create(code=f"P{next(counter)}", name="资产", amount_minor=100)

    def audited() -> None:
        with transaction.atomic():
            item = PlainItem.objects.create(code=f"A{next(counter)}", name="资产", amount_minor=100)
            audit_record(
                actor=actor,
                action=AuditAction.BRANCH_CREATED,
                object_type="item",
                object_id=item.pk,
                after={"code": item.code, "name": item.name, "amount_minor": item.amount_minor},
            )

    def history() -> None:
        with transaction.atomic():
            item = HistoryItem(code=f"H{next(counter)}", name="资产", amount_minor=100)
            item._history_user = actor  # what the request middleware supplies
            item.save()

    for function in (plain, audited, history):  # warm up
        for _ in range(200):
            function()
    # interleave rounds so drift (WAL growth, autovacuum) hits all three alike
    results: dict[str, list[float]] = {"plain": [], "audited": [], "history": []}
    rounds = 10
    for _ in range(rounds):
        for name, function in (("plain", plain), ("audited", audited), ("history", history)):
            results[name] += timed(function, repeat=writes // rounds)
    report("write, unaudited (1 INSERT, own transaction)", results["plain"])
    report("write + audit_record (same transaction)", results["audited"])
    report("write with django-simple-history (same actor)", results["history"])
    base, audit, hist = (median(results[key]) for key in ("plain", "audited", "history"))
    print(
        f"audited / unaudited = {audit / base:.2f}x (goal <= 1.3x);  "
        f"audit overhead = {(audit - base) * 1e6:.0f} us;  "
        f"history overhead = {(hist - base) * 1e6:.0f} us;  "
        f"history overhead / audit overhead = {(hist - base) / (audit - base):.2f}x;  "
        f"simple-history / audited = {hist / audit:.2f}x (goal >= 3x)"
    )
    record_only = []
    with transaction.atomic():
        for index in range(writes):
            began = time.perf_counter()
            audit_record(
                actor=actor,
                action=AuditAction.BRANCH_CREATED,
                object_type="item",
                object_id=index,
                after={"code": f"X{index}", "name": "资产", "amount_minor": 100},
            )
            record_only.append(time.perf_counter() - began)
    report("audit_record alone (inside one transaction)", record_only)


def make_entries(count: int) -> None:
    """Bulk-insert `count` valid entries (hashes computed like audit_record does)."""
    from django.db import transaction
    from django.utils import timezone

    from cpms.audit.canonical import canonical_json, entry_payload
    from cpms.audit.models import AuditEntry

    start = timezone.now() - timedelta(hours=1)
    chunk = 20_000
    made = 0
    began = time.perf_counter()
    while made < count:
        rows = []
        for index in range(made, min(count, made + chunk)):
            entry = AuditEntry(
                created_at=start + timedelta(microseconds=index),
                actor_name="bench",
                actor_roles="auditor",
                channel="cli",
                ip="127.0.0.1",
                user_agent="bench",
                request_id=f"r{index}",
                action="branch.created",
                object_type="branch",
                object_id=str(index),
                before=None,
                after={"code": f"B{index}", "name": "分行", "amount_minor": index},
                reason="",
            )
            entry.entry_hash = hashlib.sha256(canonical_json(entry_payload(entry))).hexdigest()
            rows.append(entry)
        with transaction.atomic():
            AuditEntry.objects.bulk_create(rows, batch_size=2000)
        made += len(rows)
    print(f"made {count:,} entries in bulk in {time.perf_counter() - began:.1f} s")


def bench_log(entries: int) -> None:
    from cpms.audit import selectors, services, tree
    from cpms.audit.models import AuditEntry

    make_entries(entries)
    began = time.perf_counter()
    sealed = services.audit_seal(
        settle_seconds=0, batch_size=100_000, checkpoint="force", full=True
    )
    seconds = time.perf_counter() - began
    print(
        f"seal {sealed.sealed:,} entries in batches of 100k: {seconds:.2f} s = "
        f"{sealed.sealed / seconds:,.0f} entries/s (goal >= 100,000/s)"
    )
    result = selectors.audit_verify(user=None)
    assert result.ok, result.summary()
    print(
        f"verify {result.entries:,} entries (content hash, leaf, tiles, checkpoints): "
        f"{result.seconds:.2f} s = {result.entries / result.seconds:,.0f} entries/s "
        "(goal >= 1,000,000/s)"
    )
    size = sealed.tree_size
    ids = list(AuditEntry.objects.values_list("pk", flat=True)[: min(size, 200_000)])
    rng = random.Random(7)
    picks = [rng.choice(ids) for _ in range(300)]
    iterator = iter(picks)
    samples = timed(lambda: selectors.entry_proof(user=None, entry_id=next(iterator)), repeat=300)
    report(f"inclusion proof (selector, JSON-ready) at {size:,}", samples)
    reader_picks = iter(rng.randrange(size) for _ in range(300))

    def reader_only() -> None:
        reader = tree.TreeReader(size, selectors.fetch_units, selectors.fetch_units_many)
        index = next(reader_picks)
        reader.prefetch_inclusion(index)
        reader.inclusion_proof(index)

    report(
        f"inclusion path only (tree reads + hashing) at {size:,}", timed(reader_only, repeat=300)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--long", action="store_true", help="10M entries for the proof figure")
    parser.add_argument("--skip-log", action="store_true")
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.db import connection

    settings.DEBUG = False  # no query log: measure the writes, not Django's debug cursor
    entries = 10_000_000 if args.long else args.entries
    print(f"database: {connection.vendor}; writes: {args.writes:,}; entries: {entries:,}")
    bench_writes(args.writes)
    if not args.skip_log:
        bench_log(entries)


if __name__ == "__main__":
    main()
