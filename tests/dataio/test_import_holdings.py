"""Importing property (holdings) through the register's own services."""

from __future__ import annotations

import io

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.dataio.services import data_export, data_import
from cpms.holdings.models import Holding, HoldingValuation
from tests.dataio.conftest import csv_bytes

HEADERS = ["客户编号", "资产类型", "标识", "描述", "价值", "币种", "估值日期"]


def owner(actor, number: str = "91350100M000100Y43"):
    return customer_register(
        actor=actor,
        data={
            "kind": "organisation",
            "legal_name": "福建测试科技有限公司",
            "identity_kind": "uscc",
            "identity_number": number,
            "relationship_manager_id": actor.pk,
        },
    )


def run(actor, content: bytes, **kwargs):
    return data_import(
        actor=actor, dataset="holdings", stream=io.BytesIO(content), filename="h.csv", **kwargs
    )


def test_holdings_import__creates_revalues_and_is_idempotent(rm1):
    customer = owner(rm1)
    rows = [
        [customer.customer_number, "contract", "HT-1", "租赁合同", "12000.50", "CNY", "2026-01-31"],
        [customer.customer_number, "Contract / document", "HT-2", "", "", "", ""],
    ]
    report = run(rm1, csv_bytes(HEADERS, rows))
    assert report.accepted, report.errors
    assert (report.created, report.updated) == (2, 0)
    first = Holding.objects.get(identifier="HT-1")
    assert (first.value_minor, first.currency, first.description) == (1200050, "CNY", "租赁合同")
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    assert run(rm1, csv_bytes(HEADERS, rows)).unchanged == 2
    assert (
        AuditEntry.objects.exclude(action="access.denied").count() == entries + 1
    )  # the summary only
    rows[0][4] = "13000"
    rows[0][6] = "2026-02-28"
    report = run(rm1, csv_bytes(HEADERS, rows))
    assert (report.updated, report.unchanged) == (1, 1)
    first.refresh_from_db()
    assert first.value_minor == 1300000
    assert HoldingValuation.objects.filter(holding=first).count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT_APPLIED).count() == 3


def test_holdings_import__errors_write_nothing(rm1, rm2):
    customer = owner(rm1)
    other = owner(rm2, number="91110000600037341L")
    rows = [
        [customer.customer_number, "contract", "HT-1", "", "1.234", "CNY", "2026-01-31"],
        [other.customer_number, "contract", "HT-2", "", "", "", ""],
        [customer.customer_number, "custody_item", "SN-1", "", "", "", ""],
        [customer.customer_number, "contract", "HT-3", "", "", "", ""],
        [customer.customer_number, "contract", "HT-3", "", "", "", ""],
    ]
    report = run(rm1, csv_bytes(HEADERS, rows))
    assert not report.accepted
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (2, "价值"),
        (4, "资产类型"),
        (6, "标识"),
        (3, "客户编号"),
    ]
    assert Holding.objects.count() == 0


def test_holdings_export_round_trip(rm1, tmp_path):
    customer = owner(rm1)
    rows = [[customer.customer_number, "contract", "HT-1", "合同", "99.90", "CNY", "2026-01-31"]]
    assert run(rm1, csv_bytes(HEADERS, rows)).accepted
    out = io.BytesIO()
    assert data_export(actor=rm1, dataset="holdings", stream=out, file_format="csv") == 1
    report = run(rm1, out.getvalue())
    assert report.accepted, report.errors
    assert report.unchanged == 1
