"""Statement files: the PDF text (pypdf) and the XLSX cells (openpyxl) carry exactly the
opening balance, every line and the closing balance; amounts in the XLSX are exact numbers
with the asset's decimals."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone, translation

from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.ledger import selectors, services, statements
from cpms.ledger.choices import AccountPurpose


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def xlsx_rows(content: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def _exact(value):
    """Numbers read back from the sheet as exact decimals; datetimes as dates."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


@pytest.fixture
def period(finance, cash, fees, fund):
    today = timezone.localdate()
    start = today - datetime.timedelta(days=5)
    fund(cash, 100_000, value_date=(today - datetime.timedelta(days=20)).isoformat())
    deposit = fund(cash, 2_550, value_date=start.isoformat(), reference="DEP 存入")
    fee = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 125,
            "reference": "FEE 手续费",
        },
    ).transfer
    return start, today, deposit, fee


def test_statement_export__xlsx_cells_are_exact(finance, cash, fees, period):
    start, end, deposit, fee = period

    with translation.override("en"):
        exported = services.statement_export(
            actor=finance, account_ref=cash.code, start=start, end=end, fmt="xlsx"
        )

    rows = [tuple(_exact(value) for value in row) for row in xlsx_rows(exported.content)]
    blank = (None,) * 7
    customer = cash.customer
    assert rows == [
        ("Customer", f"{customer.legal_name} ({customer.customer_number})", *blank[2:]),
        ("Account code", cash.code, *blank[2:]),
        ("Account", f"{customer.legal_name} · Customer money · CNY", *blank[2:]),
        ("Asset", "CNY", *blank[2:]),
        ("From", start, *blank[2:]),
        ("To", end, *blank[2:]),
        ("Opening balance", Decimal("1000.00"), *blank[2:]),
        blank,
        ("Value date", "Transfer no.", "Reference", "Counterparty", "Debit", "Credit", "Balance"),
        (
            start,
            Decimal(deposit.pk),
            "DEP 存入",
            "Client-money bank account · CNY",
            None,
            Decimal("25.50"),
            Decimal("1025.50"),
        ),
        (
            end,
            Decimal(fee.pk),
            "FEE 手续费",
            "Fee income · CNY",
            Decimal("1.25"),
            None,
            Decimal("1024.25"),
        ),
        ("Totals", None, None, None, Decimal("1.25"), Decimal("25.50"), None),
        ("Closing balance", Decimal("1024.25"), *blank[2:]),
    ]
    assert (
        exported.filename == f"statement-C{cash.customer_id}-CUSTOMER_CASH-CNY-{start}-{end}.xlsx"
    )
    assert exported.content_type.endswith("spreadsheetml.sheet")


def test_render_xlsx__amount_format_follows_the_asset(finance, customer, db):
    from openpyxl import load_workbook

    with transaction.atomic():
        points = services.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_POINTS, asset_code="PTS"
        )
        issuance = services.internal_account(
            asset_code="PTS", purpose=AccountPurpose.POINTS_ISSUANCE
        )
    services.transfer_post(
        actor=finance,
        data={"debit_account": issuance.code, "credit_account": points.code, "amount_minor": 1500},
    )
    today = timezone.localdate()
    statement = selectors.account_statement(points, start=today, end=today)

    sheet = load_workbook(io.BytesIO(statements.render_xlsx(statement))).active

    assert sheet["G9"].value == 1500
    assert sheet["G9"].number_format == "#,##0"
    assert sheet["B6"].value == 0


def test_statement_export__pdf_text_has_opening_lines_closing(finance, cash, fees, period):
    start, end, deposit, fee = period

    with translation.override("en"):
        exported = services.statement_export(
            actor=finance, account_ref=cash.pk, start=start, end=end, fmt="pdf"
        )

    assert exported.content.startswith(b"%PDF")
    text = pdf_text(exported.content)
    expected_in_order = [
        "Account statement",
        cash.customer.legal_name,
        cash.customer.customer_number,
        "Address",
        "杭州",  # the customer's postal address, decrypted for the statement
        cash.code,
        f"{start.isoformat()} – {end.isoformat()}",
        "Opening balance",
        "1,000.00 CNY",
        "Closing balance",
        "1,024.25 CNY",
        "Counterparty",
        "Debit (CNY)",
        start.isoformat(),
        f"#{deposit.pk}",
        "DEP 存入",
        "Client-money bank account · CNY",
        "25.50",
        "1,025.50",
        end.isoformat(),
        f"#{fee.pk}",
        "FEE 手续费",
        "Fee income · CNY",
        "1.25",
        "1,024.25",
        "Totals",
    ]
    position = 0
    for fragment in expected_in_order:
        found = text.find(fragment, position)
        assert found >= 0, (fragment, text[position : position + 200])
        position = found + len(fragment)


def test_statement_export__records_audit_entry(finance, cash, period):
    start, end, _deposit, _fee = period

    services.statement_export(actor=finance, account_ref=cash.pk, start=start, end=end, fmt="pdf")

    entry = AuditEntry.objects.get(action="ledger.statement_exported")
    assert entry.object_type == "ledger.account"
    assert entry.object_id == str(cash.pk)
    assert {key: entry.after[key] for key in ("account", "format", "lines")} == {
        "account": cash.code,
        "format": "pdf",
        "lines": 2,
    }
    assert entry.after["opening_minor"] == 100_000
    assert entry.after["closing_minor"] == 102_425


def test_statement_export__pdf_address_reveal_is_audited_and_bounded(
    finance, cash, period, settings
):
    start, end, _deposit, _fee = period

    services.statement_export(actor=finance, account_ref=cash.pk, start=start, end=end, fmt="pdf")
    services.statement_export(actor=finance, account_ref=cash.pk, start=start, end=end, fmt="xlsx")

    reveals = AuditEntry.objects.filter(action="pii.revealed")
    assert reveals.count() == 1  # the PDF carries the address; the XLSX does not
    reveal = reveals.get()
    assert reveal.object_type == "customers.customer"
    assert reveal.object_id == str(cash.customer_id)
    assert reveal.after["field"] == "address"
    assert "杭州" not in str(reveal.after)

    settings.CPMS_PII_REVEAL_LIMIT = 1
    from cpms.privacy.errors import RateLimited

    with pytest.raises(RateLimited):
        services.statement_export(
            actor=finance, account_ref=cash.pk, start=start, end=end, fmt="pdf"
        )
    assert AuditEntry.objects.filter(action="ledger.statement_exported").count() == 2
    assert AuditEntry.objects.filter(action="pii.reveal_refused").count() == 1


def test_statement_export__refusals_name_the_field_and_record_nothing(finance, rm, cash, period):
    start, end, _deposit, _fee = period

    with pytest.raises(PermissionDenied):
        services.statement_export(actor=rm, account_ref=cash.pk, start=start, end=end, fmt="pdf")
    with pytest.raises(ValidationFailed) as wrong_format:
        services.statement_export(
            actor=finance, account_ref=cash.pk, start=start, end=end, fmt="csv"
        )
    with pytest.raises(ValidationFailed) as backwards:
        services.statement_export(
            actor=finance, account_ref=cash.pk, start=end, end=start, fmt="pdf"
        )
    with pytest.raises(ValidationFailed) as too_long:
        services.statement_export(
            actor=finance,
            account_ref=cash.pk,
            start=end - datetime.timedelta(days=400),
            end=end,
            fmt="pdf",
        )
    with pytest.raises(NotFound):
        services.statement_export(
            actor=finance, account_ref="C999:NOPE", start=start, end=end, fmt="pdf"
        )

    assert list(wrong_format.value.fields) == ["format"]
    assert backwards.value.fields == {"end": "The last day comes before the first day."}
    assert too_long.value.fields == {"end": "A statement covers at most 400 days."}
    assert not AuditEntry.objects.filter(action="ledger.statement_exported").exists()
