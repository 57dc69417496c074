"""Importing customers: formats, encodings, headers, errors, idempotency, scope, dry run."""

from __future__ import annotations

import io

import pytest

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.models import Customer
from cpms.dataio.samples import customer_rows
from cpms.dataio.services import data_import
from cpms.privacy.models import DataKey
from cpms.privacy.protected import pii_filter, pii_read
from tests.dataio.conftest import CHINESE, ENGLISH, csv_bytes, rows_from, xlsx_bytes


def run(actor, content: bytes, name: str = "customers.csv", **kwargs):
    return data_import(
        actor=actor, dataset="customers", stream=io.BytesIO(content), filename=name, **kwargs
    )


def state():
    return (
        Customer.objects.count(),
        DataKey.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


def test_data_import__creates_customers_with_encrypted_data_and_audit(rm1):
    content = csv_bytes(ENGLISH, rows_from(customer_rows(3)))
    report = run(rm1, content)
    assert report.accepted, report.errors
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    customers = list(Customer.objects.order_by("pk"))
    assert [c.relationship_manager_id for c in customers] == [rm1.pk] * 3
    first = customers[0]
    sample = next(customer_rows(1))
    assert first.customer_number == f"C{first.pk:08d}"
    assert first.legal_name == sample["legal_name"]
    assert pii_read(first, "identity_number") == sample["identity_number"]
    assert pii_read(first, "phone") == "+86" + sample["phone"]
    assert first.tags == ["demo"]
    assert (
        pii_filter(Customer.objects.all(), "identity_number", sample["identity_number"]).get()
        == first
    )
    assert DataKey.objects.filter(subject_type="customers.customer").count() == 3
    entries = list(AuditEntry.objects.filter(action__startswith="customer.").order_by("pk"))
    assert [e.action for e in entries] == [AuditAction.CUSTOMER_CREATED] * 3
    assert entries[0].object_id == str(first.pk)
    assert entries[0].after["legal_name"] == sample["legal_name"]
    assert entries[0].after["identity_number"].startswith("sha256:")
    summary = AuditEntry.objects.get(action=AuditAction.IMPORT_APPLIED)
    assert summary.after["sha256"] == report.sha256
    assert (summary.after["created"], summary.after["rows"]) == (3, 3)


def test_data_import__second_import_changes_nothing(rm1):
    content = csv_bytes(ENGLISH, rows_from(customer_rows(5)))
    assert run(rm1, content).accepted
    before = list(Customer.objects.order_by("pk").values())
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    report = run(rm1, content)
    assert report.accepted
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert list(Customer.objects.order_by("pk").values()) == before
    new = list(AuditEntry.objects.filter(pk__gt=0).order_by("pk"))[entries:]
    assert [entry.action for entry in new] == [AuditAction.IMPORT_APPLIED]


def test_data_import__updates_changed_rows_only(rm1):
    samples = list(customer_rows(3))
    assert run(rm1, csv_bytes(ENGLISH, rows_from(samples))).accepted
    samples[1]["legal_name"] = "新名字"
    samples[2]["phone"] = "13911112222"
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    report = run(rm1, csv_bytes(ENGLISH, rows_from(samples)))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    second, third = Customer.objects.order_by("pk")[1:3]
    assert second.legal_name == "新名字"
    assert second.name_pinyin.startswith("xinmingzi")
    assert pii_read(third, "phone") == "+8613911112222"
    new = list(AuditEntry.objects.order_by("pk"))[entries:]
    assert [(e.action, e.object_id) for e in new] == [
        (AuditAction.CUSTOMER_UPDATED, str(second.pk)),
        (AuditAction.CUSTOMER_UPDATED, str(third.pk)),
        (AuditAction.IMPORT_APPLIED, new[-1].object_id),
    ]
    assert new[0].after == {"legal_name": "新名字"}
    assert set(new[1].after) == {"phone"}


def test_data_import__dry_run_writes_nothing(rm1):
    before = state()
    report = run(rm1, csv_bytes(ENGLISH, rows_from(customer_rows(4))), dry_run=True)
    assert report.accepted and report.dry_run
    assert report.created == 4
    assert state() == before


def test_data_import__chinese_headers_gb18030(rm1):
    content = csv_bytes(CHINESE, rows_from(customer_rows(2)), encoding="gb18030")
    report = run(rm1, content)
    assert report.accepted, report.errors
    assert report.encoding == "gb18030"
    assert Customer.objects.count() == 2


def test_data_import__utf8_with_bom(rm1):
    content = b"\xef\xbb\xbf" + csv_bytes(CHINESE, rows_from(customer_rows(2)))
    report = run(rm1, content)
    assert report.accepted, report.errors
    assert report.encoding == "utf-8-sig"


def test_data_import__xlsx_with_chinese_headers_and_labels(rm1):
    rows = rows_from(customer_rows(2))
    rows[0][0] = "个人"
    rows[0][2] = "居民身份证"
    report = run(rm1, xlsx_bytes(CHINESE, rows), name="客户.xlsx")
    assert report.accepted, report.errors
    assert report.format == "xlsx"
    assert Customer.objects.filter(identity_kind="resident_id").count() == 2


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("José Müller,café".encode("latin-1") + b"\n\xe9t\xe9,1\n", "not text in UTF-8 or GB18030"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
        (bytes(range(256)) * 8, "binary"),
        (b"", "empty"),
        (b"PK\x03\x04garbage-not-a-zip" * 10, "XLSX"),
    ],
    ids=["latin-1", "png", "random-bytes", "empty", "broken-zip"],
)
def test_data_import__unreadable_files_are_refused(rm1, content, fragment):
    before = state()
    report = run(rm1, content, name="customers.xlsx" if fragment == "XLSX" else "customers.csv")
    assert not report.accepted
    assert fragment in report.message
    assert report.errors[0]["row"] is None
    assert state()[:2] == before[:2]
    rejected = AuditEntry.objects.filter(action=AuditAction.IMPORT_REJECTED).get()
    assert rejected.after["sha256"] == report.sha256


def test_data_import__unknown_and_missing_columns_are_named(rm1):
    headers = ["Kind", "Legal name", "Identity document", "Shoe size"]
    report = run(rm1, csv_bytes(headers, [["individual", "张三", "resident_id", "42"]]))
    assert not report.accepted
    assert "Unknown columns: Shoe size." in report.message
    assert "Missing columns: Identity number." in report.message
    assert Customer.objects.count() == 0


def test_data_import__bad_rows_are_reported_by_row_and_column_and_nothing_written(rm1):
    rows = rows_from(customer_rows(5))
    rows[1][3] = "110105194912310021"  # wrong checksum
    rows[2][4] = "12"  # phone
    rows[3][6] = "extreme"  # risk rating
    rows[4][0] = ""  # kind missing
    before = state()
    report = run(rm1, csv_bytes(ENGLISH, rows))
    assert not report.accepted
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (3, "Identity number"),
        (4, "Phone"),
        (5, "Risk rating"),
        (6, "Kind"),
    ]
    assert "extreme" in report.errors[2]["message"]
    assert state()[:2] == before[:2]
    assert report.created == 0


def test_data_import__wrong_types(rm1):
    headers = [*ENGLISH, "Date of birth", "KYC reviewed on"]
    rows = rows_from(customer_rows(1))
    rows[0] += ["not a date", "31/31/2020"]
    report = run(rm1, csv_bytes(headers, rows))
    assert [(e["column"], e["message"]) for e in report.errors] == [
        ("Date of birth", "Not a date; write it as YYYY-MM-DD."),
        ("KYC reviewed on", "Not a date; write it as YYYY-MM-DD."),
    ]


def test_data_import__duplicate_keys_in_one_file(rm1):
    rows = rows_from(customer_rows(3))
    rows.append(list(rows[0]))
    report = run(rm1, csv_bytes(ENGLISH, rows))
    assert not report.accepted
    assert [(e["row"], e["column"], e["message"]) for e in report.errors] == [
        (5, "Identity number", "The same identity document is on row 2.")
    ]
    assert report.errors[0]["field"] == "identity_number"
    assert report.errors[0]["code"] == "The same identity document is on row %(row)s."
    assert report.errors[0]["params"] == {"row": 2}
    assert Customer.objects.count() == 0


def test_data_import__errors_in_the_users_language(rm1):
    rows = rows_from(customer_rows(1))
    rows[0][6] = "extreme"
    report = run(rm1, csv_bytes(CHINESE, rows), language="zh-hans")
    assert report.errors[0]["column"] == "风险等级"
    assert report.errors[0]["row"] == 2


def test_data_import__scope_rows_of_other_managers_customers_are_errors(rm1, rm2):
    samples = list(customer_rows(2))
    assert run(rm2, csv_bytes(ENGLISH, rows_from(samples[:1]))).accepted
    before = state()
    report = run(rm1, csv_bytes(ENGLISH, rows_from(samples)))
    assert not report.accepted
    assert [(e["row"], e["column"], e["message"]) for e in report.errors] == [
        (2, "Identity number", "This customer is outside your scope.")
    ]
    assert state()[:2] == before[:2]


def test_data_import__needs_permissions(auditor):
    from cpms.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(auditor, csv_bytes(ENGLISH, rows_from(customer_rows(1))))
    assert Customer.objects.count() == 0


def test_data_import__thousand_customers_from_chinese_xlsx_by_a_relationship_manager(rm1, rm2):
    content = xlsx_bytes(CHINESE, rows_from(customer_rows(1000)))
    report = run(rm1, content, name="客户名单.xlsx")
    assert report.accepted, report.errors[:3]
    assert report.created == 1000
    assert Customer.objects.filter(relationship_manager=rm1).count() == 1000
    from cpms.customers.selectors import customer_list

    assert customer_list(user=rm1).count() == 1000
    assert customer_list(user=rm2).count() == 0
    assert AuditEntry.objects.filter(action=AuditAction.CUSTOMER_CREATED).count() == 1000
