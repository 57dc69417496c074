"""Importing purchases: one row per line, grouped by receipt number, through purchase_record."""

from __future__ import annotations

import io

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.dataio.services import data_export, data_import
from cpms.retail.models import Purchase, PurchaseLine
from tests.dataio.conftest import csv_bytes

HEADERS = [
    "Receipt number",
    "Customer number",
    "Purchased at",
    "Channel",
    "Store code",
    "Category",
    "Quantity",
    "Unit price",
    "Description",
]


def owner(actor):
    return customer_register(
        actor=actor,
        data={
            "kind": "organisation",
            "legal_name": "福建测试科技有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": actor.pk,
        },
    )


def run(actor, content: bytes, **kwargs):
    return data_import(
        actor=actor, dataset="purchases", stream=io.BytesIO(content), filename="p.csv", **kwargs
    )


def lines(number: str) -> list[list[str]]:
    return [
        ["R-1", number, "2026-01-31 14:30", "online", "", "服装", "2", "99.50", "衬衫"],
        ["R-1", number, "2026-01-31 14:30", "online", "", "鞋", "1", "300", "皮鞋"],
        ["R-2", number, "2026-02-01", "线上", "", "食品", "3", "10", "饼干"],
    ]


def test_purchases_import__groups_lines_and_is_idempotent(rm1):
    customer = owner(rm1)
    content = csv_bytes(HEADERS, lines(customer.customer_number))
    report = run(rm1, content)
    assert report.accepted, report.errors
    assert (report.rows, report.created) == (3, 2)
    first = Purchase.objects.get(reference="R-1")
    assert first.total_minor == 2 * 9950 + 30000
    assert PurchaseLine.objects.filter(purchase=first).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.PURCHASE_RECORDED).count() == 2
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    report = run(rm1, content)
    assert (report.created, report.unchanged) == (0, 2)
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries + 1


def test_purchases_import__dry_run_and_errors_write_nothing(rm1):
    customer = owner(rm1)
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    report = run(rm1, csv_bytes(HEADERS, lines(customer.customer_number)), dry_run=True)
    assert report.accepted, report.errors
    assert report.created == 2
    assert Purchase.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries
    rows = lines(customer.customer_number)
    rows[2][6] = "many"
    rows.append(list(rows[0]))  # R-1 again, not consecutive: a duplicate receipt
    report = run(rm1, csv_bytes(HEADERS, rows))
    assert not report.accepted
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (4, "Quantity"),
        (5, "Receipt number"),
    ]
    assert Purchase.objects.count() == 0


def test_purchases_export_round_trip(rm1):
    customer = owner(rm1)
    assert run(rm1, csv_bytes(HEADERS, lines(customer.customer_number))).accepted
    out = io.BytesIO()
    assert data_export(actor=rm1, dataset="purchases", stream=out, file_format="csv") == 3
    report = run(rm1, out.getvalue())
    assert report.accepted, report.errors
    assert (report.created, report.unchanged) == (0, 2)
