"""Exports neutralise formula text (issue 10, item 3): customers, holdings and purchases in CSV
and XLSX, through the service, the console and the API; the import restores the text, so the
round trip still changes nothing."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from cpms.customers.services import customer_register
from cpms.dataio.samples import resident_id
from cpms.dataio.services import data_export, data_import
from cpms.holdings.models import Holding
from tests.customers.conftest import individual
from tests.dataio.conftest import csv_bytes

PAYLOADS = ['=HYPERLINK("http://x","y")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)"]
IDS = [resident_id("110105", datetime.date(1980, 1, day), 7) for day in range(1, 5)]


@pytest.fixture
def hostile(rm1):
    """Four customers named like formulas, each with one property described like one."""
    customers = []
    for name, number in zip(PAYLOADS, IDS, strict=True):
        customers.append(
            customer_register(
                actor=rm1,
                data=individual(
                    legal_name=name,
                    identity_number=number,
                    phone="",
                    email="",
                    relationship_manager_id=rm1.pk,
                ),
            )
        )
    rows = [
        [customer.customer_number, "contract", f"HT-{index}", name, "100", "CNY", "2026-01-31"]
        for index, (customer, name) in enumerate(zip(customers, PAYLOADS, strict=True))
    ]
    report = data_import(
        actor=rm1,
        dataset="holdings",
        stream=io.BytesIO(
            csv_bytes(["客户编号", "资产类型", "标识", "描述", "价值", "币种", "估值日期"], rows)
        ),
        filename="h.csv",
    )
    assert report.accepted, report.errors
    assert sorted(Holding.objects.values_list("description", flat=True)) == sorted(PAYLOADS)
    return customers


def exported(actor, dataset: str, file_format: str) -> bytes:
    stream = io.BytesIO()
    data_export(actor=actor, dataset=dataset, stream=stream, file_format=file_format)
    return stream.getvalue()


def csv_column(content: bytes, index: int) -> list[str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return [row[index] for row in rows[1:]]


def xlsx_column(content: bytes, index: int) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [(row[index].value, row[index].data_type) for row in sheet.iter_rows(min_row=2)]


@pytest.mark.parametrize(("dataset", "column"), [("customers", 2), ("holdings", 3)])
def test_export_csv__formula_text_is_neutralised(rm1, hostile, dataset, column):
    assert sorted(csv_column(exported(rm1, dataset, "csv"), column)) == sorted(
        "'" + text for text in PAYLOADS
    )


@pytest.mark.parametrize(("dataset", "column"), [("customers", 2), ("holdings", 3)])
def test_export_xlsx__formula_text_is_a_neutralised_string(rm1, hostile, dataset, column):
    assert sorted(xlsx_column(exported(rm1, dataset, "xlsx"), column)) == sorted(
        ("'" + text, "s") for text in PAYLOADS
    )


def test_export_purchases__line_description_is_neutralised(rm1, hostile):
    from cpms.retail.services import purchase_record

    purchase_record(
        actor=rm1,
        data={
            "customer_id": hostile[0].pk,
            "reference": "R-1",
            "purchased_at": "2026-01-02T10:00:00",
            "channel": "online",
            "currency": "CNY",
            "total_minor": 100,
            "lines": [
                {
                    "category": "other",
                    "description": "=1+1",
                    "quantity": 1,
                    "unit_amount_minor": 100,
                }
            ],
        },
    )
    assert csv_column(exported(rm1, "purchases", "csv"), 8) == ["'=1+1"]
    assert xlsx_column(exported(rm1, "purchases", "xlsx"), 8) == [("'=1+1", "s")]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_console_and_api_exports__are_neutralised(rm1, hostile, token_for, tmp_path, file_format):
    console = Client()
    console.force_login(rm1)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['*:read'])}")
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        responses = [
            console.post(reverse("dataio:export"), {"dataset": "customers", "format": file_format}),
            api.get(f"/api/v1/data/exports/customers?format={file_format}"),
        ]
    for response in responses:
        assert response.status_code == 200
        content = b"".join(response.streaming_content)
        if file_format == "csv":
            names = csv_column(content, 2)
        else:
            names = [value for value, kind in xlsx_column(content, 2) if kind == "s"]
        assert sorted(names) == sorted("'" + text for text in PAYLOADS)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_clear_export_then_import__round_trips_the_formula_text(
    rm1, compliance, hostile, file_format
):
    from cpms.approvals.models import ApprovalPolicy
    from cpms.customers.models import Customer

    ApprovalPolicy.objects.filter(action="privacy.bulk_export").update(enabled=False)
    stream = io.BytesIO()
    data_export(
        actor=compliance,
        dataset="customers",
        stream=stream,
        file_format=file_format,
        include_pii=True,
        reason="round trip check",
    )
    report = data_import(
        actor=rm1,
        dataset="customers",
        stream=io.BytesIO(stream.getvalue()),
        filename=f"c.{file_format}",
    )
    assert report.accepted, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert sorted(Customer.objects.values_list("legal_name", flat=True)) == sorted(PAYLOADS)
