"""API shell: token-authenticated request cost, and keyset pagination against OFFSET paging
deep into a 100k-row list (the convention every CPMS list uses).

    make bench            or    .venv/bin/python bench/api.py [--rows N]
"""

from __future__ import annotations

import argparse

from _django import report, setup, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client

    from cpms.access import staff as access_staff
    from cpms.core.pagination import keyset_page
    from cpms.users import services
    from cpms.users.models import Branch

    Branch.objects.bulk_create(
        (Branch(code=f"B{index:07d}", name=f"分行{index}") for index in range(args.rows)),
        batch_size=5000,
    )
    user = access_staff.user_create(actor=None, username="bench", password="bench-password-2026")
    token = services.token_create(actor=None, user=user).token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    print(f"database: {connection.vendor}, rows: {args.rows:,}")

    report("GET /healthz", timed(lambda: client.get("/healthz"), repeat=300))
    report("GET /api/v1/me (bearer token)", timed(lambda: client.get("/api/v1/me"), repeat=300))
    report(
        "GET /api/v1/branches?limit=50 (first page)",
        timed(lambda: client.get("/api/v1/branches?limit=50"), repeat=200),
    )

    ordering = ("code", "pk")
    deep = args.rows - 100
    last = Branch.objects.order_by(*ordering)[deep - 1]
    from cpms.core.pagination import encode_cursor

    cursor = encode_cursor([last.code, last.pk])
    keyset = timed(
        lambda: keyset_page(Branch.objects.all(), limit=50, cursor=cursor, ordering=ordering),
        repeat=100,
    )
    offset = timed(lambda: list(Branch.objects.order_by(*ordering)[deep : deep + 50]), repeat=100)
    report(f"keyset page at row {deep:,}", keyset)
    report(f"OFFSET page at row {deep:,} (peer)", offset)
    ratio = sorted(offset)[len(offset) // 2] / sorted(keyset)[len(keyset) // 2]
    print(f"keyset is {ratio:.1f}x faster than OFFSET at that depth (median)")


if __name__ == "__main__":
    main()
