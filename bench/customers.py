"""Customer list and search with 100k customers: the console list page (first page and a
filtered page), the API list (p50/p95, goal p95 < 150 ms) and a search by resident ID number
through the blind index (goal < 20 ms), for a relationship manager (assigned scope) and a
compliance officer (every customer).

Customers are inserted in bulk the way the privacy layer stores them (a data key per customer
wrapped by the master key, AES-GCM ciphertexts bound to table/column/row, HMAC blind indexes),
without the per-row service path, so 100k rows load in a minute or two.

    .venv/bin/python bench/customers.py [--rows N] [--repeat R] [--database-url URL]
    e.g. --database-url postgres://postgres@127.0.0.1:5432/cpms_bench_customers (created and
    dropped by the script when it can)
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import secrets
import statistics
import subprocess
import time
from urllib.parse import urlparse

from _django import setup, timed

ROWS = 100_000
MANAGERS = 10
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志文"
REGIONS = ("110101", "110105", "110108", "310101", "310104")


def _database(url: str | None) -> str | None:
    """Point the bench at `url`, creating the PostgreSQL database if needed; returns the
    database name to drop at the end (None for SQLite or an existing database)."""
    if not url:
        return None
    os.environ["BENCH_DATABASE_URL"] = url
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return None
    name = parsed.path.lstrip("/")
    host = ["-h", parsed.hostname or "127.0.0.1", "-U", parsed.username or "postgres"]
    drop = ["dropdb", "--if-exists", *host, name]
    subprocess.run(drop, check=False, capture_output=True)  # noqa: S603 (PostgreSQL tools)
    subprocess.run(["createdb", *host, name], check=True)  # noqa: S603, S607
    return name


def _drop(name: str | None, url: str | None) -> None:
    if not name or not url:
        return
    from django.db import connections

    connections.close_all()
    parsed = urlparse(url)
    host = ["-h", parsed.hostname or "127.0.0.1", "-U", parsed.username or "postgres"]
    drop = ["dropdb", "--if-exists", *host, name]
    subprocess.run(drop, check=False, capture_output=True)  # noqa: S603


def _resident_id(rng: random.Random) -> str:
    from stdnum.cn import ric

    birth = datetime.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def _insert(table: str, rows: list[dict]) -> None:
    """Plain INSERTs (executemany): the ORM's per-object cost would dominate the load time."""
    from django.db import connection

    columns = list(rows[0])
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [tuple(row[column] for column in columns) for row in rows])


def insert_customers(rows: int, branches: list, managers: list) -> tuple[float, list[str]]:
    """Bulk-insert `rows` customers with encrypted, blind-indexed identity number, phone and
    email, each under its own data key; returns (seconds, a sample of the identity numbers)."""
    from functools import lru_cache

    from django.db import connection, transaction
    from django.utils import timezone

    from cpms.core import crypto
    from cpms.customers.models import Customer
    from cpms.customers.services import name_pinyin
    from cpms.privacy import keys
    from cpms.privacy.models import DataKey
    from cpms.privacy.protected import index_purpose
    from cpms.privacy.services import blind_index_root

    rng = random.Random(20260101)
    table = Customer._meta.db_table
    root = blind_index_root(actor=None)
    fields = {
        name: (
            Customer._meta.get_field(spec.ciphertext).column,
            spec,
            crypto.blind_index_for(root, index_purpose(Customer, name), spec.kind),
        )
        for name, spec in Customer.pii.fields.items()
        if spec.index
    }

    def prep(name: str, value: object) -> object:
        return Customer._meta.get_field(name).get_db_prep_save(value, connection)

    now = timezone.now()
    constant = {
        "identity_country": "",
        "date_of_birth": None,
        "address_encrypted": "",
        "portal_user_id": None,
        "kyc_status": "pending",
        "kyc_reviewed_at": None,
        "kyc_next_review_at": None,
        "segment": "",
        "status_changed_at": prep("status_changed_at", now),
        "tags": prep("tags", ["bench"]),
        "custom_fields": prep("custom_fields", {}),
        "data_warnings": prep("data_warnings", []),
        "created_at": prep("created_at", now),
        "updated_at": prep("updated_at", now),
    }
    key_created = DataKey._meta.get_field("created_at").get_db_prep_save(now, connection)
    pinyin = lru_cache(maxsize=None)(name_pinyin)
    sample: list[str] = []
    start = time.perf_counter()
    batch = 2000
    with transaction.atomic():
        for first in range(1, rows + 1, batch):
            customers, data_keys = [], []
            for pk in range(first, min(first + batch, rows + 1)):
                key_id, key = secrets.token_hex(8), crypto.new_key()
                wrapped, master_id = keys.wrap(
                    subject_type="customers.customer", subject_id=str(pk), key_id=key_id, key=key
                )
                data_keys.append(
                    {
                        "subject_type": "customers.customer",
                        "subject_id": str(pk),
                        "key_id": key_id,
                        "wrapped_key": wrapped,
                        "master_key_id": master_id,
                        "created_at": key_created,
                    }
                )
                cipher = crypto.FieldCipher(key_id, key)
                organisation = rng.random() < 0.15
                name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.randint(1, 2)))
                if organisation:
                    name += "贸易有限公司"
                identity = _resident_id(rng)
                if pk % 1000 == 0:
                    sample.append(identity)
                clear = {
                    "identity_number": identity,
                    "phone": f"+861{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                    "email": f"user{pk}@example.com",
                }
                row = {
                    "id": pk,
                    "customer_number": f"C{pk:08d}",
                    "kind": "organisation" if organisation else "individual",
                    "legal_name": name,
                    "name_pinyin": pinyin(name),
                    "identity_kind": "other" if organisation else "resident_id",
                    "branch_id": branches[pk % len(branches)].pk,
                    "relationship_manager_id": managers[pk % len(managers)].pk,
                    "risk_rating": rng.choice(("low", "medium", "high")),
                    "status": rng.choices(("active", "dormant", "closed"), weights=(85, 10, 5))[0],
                    **constant,
                }
                for field, (column, spec, indexer) in fields.items():
                    aad = crypto.associated_data(table, column, str(pk))
                    row[spec.ciphertext] = cipher.encrypt(clear[field], aad)
                    row[spec.index] = indexer(clear[field])
                customers.append(row)
            _insert(DataKey._meta.db_table, data_keys)
            _insert(table, customers)
    return time.perf_counter() - start, sample


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


def measure_user(
    who: str, user: object, *, branch: object, sample: list[str], repeat: int
) -> list[tuple[str, float, float]]:
    """(label, p50 ms, p95 ms) of each list and search, as `user` sees them."""
    from django.test import Client

    from cpms.customers import selectors
    from cpms.users import services

    console = Client()
    console.force_login(user)
    token = services.token_create(actor=None, user=user, scopes=["customers:read"]).token
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    filtered = f"?status=dormant&kind=organisation&branch={branch.pk}"
    numbers = iter(sample * (repeat * 4))

    def get(client: Client, url: str) -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    cases = [
        ("console list, first page", lambda: get(console, "/customers/")),
        ("console list, filtered page", lambda: get(console, f"/customers/{filtered}")),
        ("API list, limit 50", lambda: get(api, "/api/v1/customers/?limit=50")),
        ("API list, filtered", lambda: get(api, f"/api/v1/customers/{filtered}&limit=50")),
        (
            "API search by name (contains)",
            lambda: get(api, "/api/v1/customers/?q=%E7%8E%8B%E4%BC%9F&limit=50"),
        ),
        (
            "search by ID number, blind index",
            lambda: list(selectors.customer_list(user=user, q=next(numbers))[:25]),
        ),
        ("API search by ID number", lambda: get(api, f"/api/v1/customers/?q={next(numbers)}")),
    ]
    results = []
    for label, function in cases:
        function()  # warm: keys unwrapped, token use recorded
        median, p95 = summary(timed(function, repeat=repeat))
        results.append((f"{label} ({who})", median, p95))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    dropping = _database(args.database_url)
    setup()
    try:
        run(args)
    finally:
        _drop(dropping, args.database_url)


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from cpms.access import staff as access_staff
    from cpms.users import services
    from cpms.users.choices import Role

    branches = [
        services.branch_ensure(actor=None, code=code, name=code)
        for code in ("BJ01", "SH01", "SZ01")
    ]
    managers = [
        access_staff.user_create(
            actor=None,
            username=f"bench-rm{index}",
            password="bench-password-2026",
            roles=[Role.RELATIONSHIP_MANAGER.value],
            branch=branches[index % len(branches)],
        )
        for index in range(MANAGERS)
    ]
    officer = access_staff.user_create(
        actor=None,
        username="bench-compliance",
        password="bench-password-2026",
        roles=[Role.COMPLIANCE_OFFICER.value],
        branch=branches[0],
    )
    seconds, sample = insert_customers(args.rows, branches, managers)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"database: {connection.vendor}, customers: {args.rows:,} "
        f"(inserted in {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, each with its own "
        "data key, 3 encrypted and indexed fields)"
    )
    results: list[tuple[str, float, float]] = []
    for who, user in (("RM, assigned", managers[1]), ("compliance, all", officer)):
        results.extend(
            measure_user(who, user, branch=branches[1], sample=sample, repeat=args.repeat)
        )
    width = max(len(label) for label, _median, _p95 in results)
    print(f"{'operation':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}")
    for label, median, p95 in results:
        print(f"{label:<{width}}  {median:8.1f}  {p95:8.1f}")


if __name__ == "__main__":
    main()
