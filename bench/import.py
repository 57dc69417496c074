"""Bulk import of customers: CPMS against django-import-export on the same model and file;
XLSX parsing (calamine against openpyxl read-only); peak memory of streaming runs.

    .venv/bin/python bench/import.py [--rows N] [--baseline-rows M] [--memory-rows R]
    .venv/bin/python bench/import.py --database-url postgres://postgres@127.0.0.1:5432/DB

What is measured (issue 4 item 10):
- the file: N customer rows, half updates of customers already registered (their segment and
  risk rating change), half new, 1% invalid (a resident ID with a wrong check digit);
- "validate + report": importing that file. All-or-nothing means it is refused; the time is
  reading, validating and matching every row and producing the full error report (plus, for
  CPMS, applying the batches before the first invalid one, then rolling back);
- "clean apply": the same file without the invalid rows, applied: validation, encryption and
  blind indexes, per-customer data keys, scope checks, one audit entry per changed row and the
  summary entry, in one transaction;
- django-import-export on the same Customer model and the same CSV, with a resource that does
  the same identity/phone validation, encryption and blind indexing per row (it writes no audit
  entries and no data keys, so the ratios flatter it): "default" is a ModelResource with its
  defaults, "tuned" adds its documented bulk options (use_bulk, batch_size, skip_diff,
  skip_unchanged, CachedInstanceLoader). Its default mode is slow, so it runs on the first M rows
  of each file (rows/s are comparable; M defaults to 2,000);
- XLSX: all rows of an N-row sheet read through `dataio.readers` with each engine;
- memory: peak RSS (VmHWM) of a subprocess running the CPMS dry run of the N-row file, and of one
  streaming an R-row CSV (default 1M) through the reader, header mapping and duplicate-key set
  (the only structure that grows with the file).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADERS = [
    "kind",
    "legal_name",
    "identity_kind",
    "identity_number",
    "phone",
    "email",
    "address",
    "risk_rating",
    "segment",
    "tags",
]


def make_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow([row[name] for name in HEADERS])


def build_files(rows: int, scratch: Path) -> dict[str, Path]:
    from cpms.dataio.samples import customer_rows

    half = rows // 2
    existing = list(customer_rows(half, seed=7))
    new = list(customer_rows(rows - half, seed=7, start=half))
    updated = []
    for position, row in enumerate(existing):
        changed = dict(row)
        changed["segment"] = "updated"
        changed["risk_rating"] = ("low", "medium", "high")[position % 3]
        updated.append(changed)
    mixed = [row for pair in zip(updated, new, strict=False) for row in pair]
    mixed += new[len(updated) :]
    invalid = [dict(row) for row in mixed]
    for position in range(50, len(invalid), 100):  # 1%: a wrong check digit
        number = invalid[position]["identity_number"]
        last = "0" if number[-1] != "0" else "1"
        invalid[position]["identity_number"] = number[:-1] + last
    files = {
        "seed": scratch / "seed.csv",
        "invalid": scratch / "mixed-1pct-invalid.csv",
        "clean": scratch / "mixed-clean.csv",
    }
    make_csv(files["seed"], existing)
    make_csv(files["invalid"], invalid)
    make_csv(files["clean"], mixed)
    return files


def head(path: Path, count: int, scratch: Path) -> Path:
    target = scratch / f"head-{count}-{path.name}"
    with path.open(encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
        for number, line in enumerate(source):
            if number > count:
                break
            out.write(line)
    return target


# --- CPMS ----------------------------------------------------------------------------------


def cpms_import(actor, path: Path, *, dry_run: bool = False):
    from cpms.dataio.services import data_import

    with path.open("rb") as stream:
        started = time.perf_counter()
        report = data_import(
            actor=actor, dataset="customers", stream=stream, filename=path.name, dry_run=dry_run
        )
        return report, time.perf_counter() - started


# --- django-import-export -------------------------------------------------------------------


def resource_classes(branch_id: int):
    from import_export import fields, resources
    from import_export.instance_loaders import CachedInstanceLoader

    from cpms.core import crypto
    from cpms.customers import validators
    from cpms.customers.models import Customer
    from cpms.customers.services import name_pinyin
    from cpms.privacy.protected import index_purpose
    from cpms.privacy.services import blind_index_root

    root = blind_index_root(actor=None)
    indexers = {
        name: (
            crypto.blind_index_for(root, index_purpose(Customer, name), kind),
            crypto.NORMALISERS[kind],
        )
        for name, kind in (("identity_number", "identity"), ("phone", "phone"), ("email", "email"))
    }
    cipher = crypto.FieldCipher("bench0", crypto.new_key())
    table = Customer._meta.db_table

    computed = (
        "identity_number_index",
        "identity_number_encrypted",
        "phone_encrypted",
        "phone_index",
        "email_encrypted",
        "email_index",
        "address_encrypted",
        "branch",
        "name_pinyin",
        "date_of_birth",
    )

    class CustomerResource(resources.ModelResource):
        identity_number_index = fields.Field(
            attribute="identity_number_index", column_name="identity_number_index"
        )

        class Meta:
            model = Customer
            fields = (
                "kind",
                "legal_name",
                "identity_kind",
                "identity_number_index",
                "identity_number_encrypted",
                "phone_encrypted",
                "phone_index",
                "email_encrypted",
                "email_index",
                "address_encrypted",
                "risk_rating",
                "segment",
                "branch",
                "name_pinyin",
                "date_of_birth",
            )
            import_id_fields = ("identity_number_index",)

        def before_import(self, dataset, **kwargs):
            # the computed columns (filled per row below) must exist as headers
            for name in computed:
                if name not in dataset.headers:
                    dataset.append_col([""] * len(dataset), header=name)

        def before_import_row(self, row, **kwargs):
            checked = validators.check_identity_document(
                row["identity_kind"], row["identity_number"]
            )
            phone = validators.check_phone(row["phone"]).value
            email = validators.check_email(row["email"]).value
            number = checked.details.get("eighteen_digit", checked.value)
            row["date_of_birth"] = checked.details.get("birth_date")
            row["name_pinyin"] = name_pinyin(row["legal_name"])
            row["branch"] = branch_id
            for name, value in (("identity_number", number), ("phone", phone), ("email", email)):
                indexer, normalise = indexers[name]
                row[f"{name}_index"] = indexer.raw(normalise(value))
                aad = crypto.associated_data(table, f"{name}_encrypted", "0")
                row[f"{name}_encrypted"] = cipher.encrypt(value, aad)
            aad = crypto.associated_data(table, "address_encrypted", "0")
            row["address_encrypted"] = cipher.encrypt(row["address"], aad)

        def before_save_instance(self, instance, row, **kwargs):
            if not instance.customer_number:
                instance.customer_number = "IE" + row["identity_number_index"][:30]

    class TunedCustomerResource(CustomerResource):
        class Meta(CustomerResource.Meta):
            use_bulk = True
            batch_size = 1000
            skip_diff = True
            skip_unchanged = True
            instance_loader_class = CachedInstanceLoader

    return CustomerResource, TunedCustomerResource


class _Undo(Exception):
    pass


def import_export_run(resource_class, path: Path) -> tuple[float, int, bool]:
    """Time one import_data() (parsing included), then undo whatever it wrote, so every run
    meets the same database: the seeded half are updates, the other half new."""
    import tablib
    from django.db import transaction

    outcome: dict[str, object] = {}
    try:
        with transaction.atomic():
            started = time.perf_counter()
            with path.open(encoding="utf-8") as stream:
                dataset = tablib.Dataset().load(stream.read(), format="csv")
            result = resource_class().import_data(dataset, dry_run=False, raise_errors=False)
            outcome["elapsed"] = time.perf_counter() - started
            outcome["rows"] = len(dataset)
            outcome["ok"] = not (result.has_errors() or result.has_validation_errors())
            raise _Undo()
    except _Undo:
        pass
    return outcome["elapsed"], outcome["rows"], outcome["ok"]


# --- XLSX and memory ------------------------------------------------------------------------


def xlsx_parse(rows: int, scratch: Path) -> dict[str, float]:
    import openpyxl

    from cpms.dataio.readers import open_table
    from cpms.dataio.samples import customer_rows

    path = scratch / "customers.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADERS)
    for row in customer_rows(rows, seed=3):
        sheet.append([row[name] for name in HEADERS])
    workbook.save(path)
    timings = {}
    for engine in ("calamine", "openpyxl"):
        with path.open("rb") as stream:
            started = time.perf_counter()
            table = open_table(stream, path.name, engine=engine)
            count = sum(1 for _row in table.rows)
            timings[engine] = time.perf_counter() - started
        assert count == rows, (engine, count)
    return timings


# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's size (fork), VmHWM is its own
PEAK_SOURCE = (
    "def PEAK():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
)

MEMORY_CHILD = (
    PEAK_SOURCE
    + """
import sys, time, resource
sys.path.insert(0, {root!r})
import django
django.setup()
from cpms.access import staff as access_staff
from cpms.dataio.columns import map_headers
from cpms.dataio.customers import COLUMNS
from cpms.dataio.readers import open_table
import hashlib
seen = {{}}
with open({path!r}, "rb") as stream:
    table = open_table(stream, "big.csv")
    columns = map_headers(table.headers, COLUMNS)
    for number, cells in table.rows:
        values = columns.values(cells)
        digest = hashlib.sha256(values["identity_number"].encode()).digest()
        key = int.from_bytes(digest[:12], "big")
        seen.setdefault(key, number)
print(len(seen), PEAK())
"""
)


def memory_stream(rows: int, scratch: Path) -> tuple[int, int, float]:
    from cpms.dataio.samples import customer_rows

    path = scratch / "big.csv"
    make_csv(path, customer_rows(rows, seed=5))
    size = path.stat().st_size
    code = MEMORY_CHILD.format(root=str(Path(__file__).resolve().parents[1]), path=str(path))
    started = time.perf_counter()
    output = subprocess.run(  # noqa: S603 (this interpreter, code written above)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    elapsed = time.perf_counter() - started
    path.unlink()
    return int(output[-1]), size, elapsed


def memory_import(path: Path) -> int:
    """Peak RSS (KiB) of a subprocess that runs the CPMS dry run of `path` on this run's
    database (already migrated; a dry run writes nothing)."""
    code = (
        PEAK_SOURCE
        + f"""
import sys, resource
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
import django
django.setup()
from cpms.users.models import User
from cpms.dataio.services import data_import
actor = User.objects.get(username="bench-rm")
with open({str(path)!r}, "rb") as stream:
    report = data_import(actor=actor, dataset="customers", stream=stream, dry_run=True)
print(report.rows, PEAK())
"""
    )
    output = subprocess.run(  # noqa: S603 (this interpreter, code written above)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(output[-1])


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--database-url", default=None, help="e.g. postgres://…/cpms_bench")
    parser.add_argument("--json", action="store_true", help="Also print the figures as JSON.")
    args = parser.parse_args()
    if args.database_url:
        os.environ["BENCH_DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _django import setup

    setup()
    from django.db import connection

    from cpms.access import staff as access_staff
    from cpms.users import services as user_services

    scratch = Path(tempfile.mkdtemp(prefix="cpms-bench-import-"))
    branch = user_services.branch_ensure(actor=None, code="B01", name="基准分行")
    actor = access_staff.user_create(
        actor=None,
        username="bench-rm",
        password="bench-password-2026",
        roles=["relationship_manager"],
        branch=branch,
    )
    figures: dict[str, object] = {"database": connection.vendor, "rows": args.rows}
    files = build_files(args.rows, scratch)
    lines = []

    def line(label: str, rows: int, seconds: float, note: str = "") -> float:
        rate = rows / seconds if seconds else float("inf")
        lines.append(f"{label:<52} {rows:>9,} rows {seconds:9.2f} s {rate:>10,.0f} rows/s {note}")
        figures[label] = {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rate)}
        return rate

    report, seconds = cpms_import(actor, files["seed"])
    assert report.accepted, report.errors[:3]
    line("CPMS seed: register N/2 new customers", report.rows, seconds)
    # django-import-export on the first M rows of the same files, each run undone afterwards:
    # the rows it updates are those CPMS registered from the seed file
    default_class, tuned_class = resource_classes(branch.pk)
    sample = min(args.baseline_rows, args.rows)
    rates = {}
    for name, resource_class in (("default", default_class), ("tuned", tuned_class)):
        invalid_head = head(files["invalid"], sample, scratch)
        seconds, rows, accepted = import_export_run(resource_class, invalid_head)
        rates[(name, "refused")] = line(
            f"import-export {name}: validate + report (refused)",
            rows,
            seconds,
            "" if not accepted else "(accepted?)",
        )
        clean_head = head(files["clean"], sample, scratch)
        seconds, rows, accepted = import_export_run(resource_class, clean_head)
        rates[(name, "apply")] = line(
            f"import-export {name}: clean apply", rows, seconds, "" if accepted else "(refused?)"
        )

    report, seconds = cpms_import(actor, files["invalid"])
    assert not report.accepted and report.error_count == len(range(50, args.rows, 100))
    cpms_refused = line(
        "CPMS validate + report (1% invalid, refused)",
        report.rows,
        seconds,
        f"{report.error_count} errors",
    )
    report, seconds = cpms_import(actor, files["clean"], dry_run=True)
    line("CPMS dry run (clean file)", report.rows, seconds)
    report, seconds = cpms_import(actor, files["clean"])
    assert report.accepted and report.created == args.rows - args.rows // 2
    cpms_apply = line(
        "CPMS clean apply (half new, half updated)",
        report.rows,
        seconds,
        f"+{report.created} ~{report.updated}",
    )
    report, seconds = cpms_import(actor, files["clean"])
    line("CPMS same file again (idempotent: no changes)", report.rows, seconds)

    xlsx_rows = args.xlsx_rows or min(args.rows, 100_000)
    timings = xlsx_parse(xlsx_rows, scratch)
    line("XLSX parse: calamine", xlsx_rows, timings["calamine"])
    line("XLSX parse: openpyxl read-only", xlsx_rows, timings["openpyxl"])

    dry_peak = memory_import(files["clean"])
    stream_peak, stream_size, stream_seconds = memory_stream(args.memory_rows, scratch)
    line("CSV stream + keys (memory run)", args.memory_rows, stream_seconds)

    print(f"\nCPMS bulk import benchmark on {connection.vendor}, N={args.rows:,}")
    print("-" * 100)
    for text in lines:
        print(text)
    print("-" * 100)
    ratios = {
        "apply vs import-export default": cpms_apply / rates[("default", "apply")],
        "apply vs import-export tuned": cpms_apply / rates[("tuned", "apply")],
        "refused vs import-export default": cpms_refused / rates[("default", "refused")],
        "refused vs import-export tuned": cpms_refused / rates[("tuned", "refused")],
        "XLSX calamine vs openpyxl read-only": timings["openpyxl"] / timings["calamine"],
    }
    for label, value in ratios.items():
        print(f"{label:<52} {value:8.1f}x")
    print(f"{'peak RSS, CPMS dry run of the N-row file':<52} {dry_peak / 1024:8.1f} MiB")
    print(
        f"{'peak RSS, streaming a ' + format(args.memory_rows, ',') + '-row CSV':<52} "
        f"{stream_peak / 1024:8.1f} MiB  (file {stream_size / 1e6:.0f} MB)"
    )
    print(
        f"{'this process peak RSS':<52} "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB"
    )
    figures["ratios"] = {key: round(value, 2) for key, value in ratios.items()}
    figures["peak_rss_mib"] = {
        "dry_run": round(dry_peak / 1024, 1),
        "stream": round(stream_peak / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
