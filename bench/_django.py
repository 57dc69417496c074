"""Shared set-up for benchmarks: Django on a scratch database (SQLite in a temp dir, or
BENCH_DATABASE_URL), migrated, with nothing of the developer's data touched."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup() -> None:
    scratch = tempfile.mkdtemp(prefix="cpms-bench-")
    os.environ.setdefault("CPMS_DEBUG", "1")
    os.environ["CPMS_DATA_DIR"] = scratch
    os.environ["CPMS_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{scratch}/bench.sqlite3"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def timed(function: Callable[[], object], *, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(
        f"{label:<48} median {statistics.median(ordered) * 1000:8.3f} ms"
        f"   p95 {p95 * 1000:8.3f} ms   n={len(ordered)}"
    )
