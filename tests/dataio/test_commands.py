"""`cpms import` and `cpms export`: exit codes, error report, template, round trip, scope."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.models import Customer
from cpms.dataio.readers import open_table
from cpms.dataio.samples import customer_rows
from cpms.privacy.protected import pii_read_many
from tests.dataio.conftest import ENGLISH, csv_bytes, rows_from


def command(*args, **kwargs) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err, **kwargs)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_import__accepted_file_exits_0(rm1, tmp_path):
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows_from(customer_rows(3))))
    code, out, _err = command(
        "import", "customers", path, actor="rm1", language="en", no_progress=True
    )
    assert code == 0
    assert "The file was imported. rows 3, created 3, updated 0, unchanged 0" in out
    assert Customer.objects.count() == 3


def test_import__refused_file_exits_2_with_the_report(rm1, tmp_path):
    rows = rows_from(customer_rows(2))
    rows[1][4] = "12"
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows))
    code, _out, err = command("import", "customers", path, actor="rm1", language="en")
    assert code == 2
    assert "row 3\tPhone\tThis is not a valid phone number" in err
    assert Customer.objects.count() == 0


def test_import__dry_run_and_chinese_messages(rm1, tmp_path):
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows_from(customer_rows(2))))
    code, _out, _err = command("import", "customers", path, "--dry-run", actor="rm1")
    assert code == 0
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="data.").count() == 0


def test_import__needs_an_actor(tmp_path, db):
    path = write(tmp_path, "c.csv", b"x")
    with pytest.raises(CommandError, match="--actor"):
        command("import", "customers", path)


@pytest.mark.parametrize("name", ["template.csv", "template.xlsx"])
def test_import__template_has_the_headers_and_an_example(tmp_path, db, name):
    path = tmp_path / name
    code, _out, _err = command("import", "customers", template=str(path), language="zh-hans")
    assert code == 0
    with path.open("rb") as stream:
        table = open_table(stream, name)
        rows = list(table.rows)
    assert table.headers[:3] == ["客户编号", "客户类型", "客户名称"]
    assert len(rows) == 1


def test_template_example_row_imports(rm1, tmp_path):
    path = tmp_path / "template.csv"
    command("import", "customers", template=str(path), language="en")
    code, _out, err = command("import", "customers", str(path), actor="rm1", language="en")
    assert code == 0, err
    assert Customer.objects.count() == 1


def test_export__masked_by_default_and_audited(rm1, tmp_path):
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows_from(customer_rows(2))))
    command("import", "customers", path, actor="rm1", language="en")
    out_path = tmp_path / "out.csv"
    code, _out, _err = command("export", "customers", output=str(out_path), actor="rm1")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3
    assert "*" in rows[1][4]  # identity number masked
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT_WRITTEN)
    assert entry.after == {
        "dataset": "customers",
        "format": "csv",
        "count": 2,
        "include_pii": False,
        "approval_request": None,
    }


def test_export__include_pii_needs_reveal(rm1, tmp_path):
    with pytest.raises(CommandError, match="permission"):
        command(
            "export",
            "customers",
            output=str(tmp_path / "x.csv"),
            actor="rm1",
            include_pii=True,
            language="en",
        )
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_import_round_trip(rm1, compliance, make_user, tmp_path, suffix):
    samples = list(customer_rows(5))
    samples[0]["tags"] = "vip,online"
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows_from(samples)))
    command("import", "customers", path, actor="rm1", language="en")
    before = [
        (c.pk, c.legal_name, c.tags, c.date_of_birth, c.relationship_manager_id, pii)
        for c, pii in zip(
            Customer.objects.order_by("pk"),
            pii_read_many(list(Customer.objects.order_by("pk")), ["identity_number", "phone"]),
            strict=True,
        )
    ]
    out_path = tmp_path / f"out.{suffix}"
    options = {"output": str(out_path), "actor": "compliance1", "include_pii": True}
    with pytest.raises(CommandError, match="approval"):
        command("export", "customers", reason="yearly data check", language="en", **options)
    from cpms.approvals.models import ApprovalRequest
    from cpms.approvals.services import approval_approve
    from cpms.users.choices import Role

    request = ApprovalRequest.objects.get(action="privacy.bulk_export")
    checker = make_user(Role.COMPLIANCE_OFFICER, username="compliance2")
    approval_approve(actor=checker, request_id=request.pk, reason="ok")
    code, _out, err = command("export", "customers", approval_request=request.pk, **options)
    assert code == 0, err
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    code, out, err = command("import", "customers", str(out_path), actor="rm1", language="en")
    assert code == 0, err
    assert "created 0, updated 0, unchanged 5" in out
    after = [
        (c.pk, c.legal_name, c.tags, c.date_of_birth, c.relationship_manager_id, pii)
        for c, pii in zip(
            Customer.objects.order_by("pk"),
            pii_read_many(list(Customer.objects.order_by("pk")), ["identity_number", "phone"]),
            strict=True,
        )
    ]
    assert after == before
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries + 1


def test_export__scoped_to_the_actor(rm1, rm2, tmp_path):
    path = write(tmp_path, "c.csv", csv_bytes(ENGLISH, rows_from(customer_rows(2))))
    command("import", "customers", path, actor="rm1", language="en")
    out_path = tmp_path / "rm2.csv"
    command("export", "customers", output=str(out_path), actor="rm2")
    rows = list(csv.reader(io.StringIO(out_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1
