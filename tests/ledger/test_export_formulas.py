"""The statement XLSX neutralises formula text (issue 10, item 3): a transfer reference that
starts with =, +, - or @ is a string cell with a leading quote; amounts stay numbers."""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils import timezone, translation
from openpyxl import load_workbook

from cpms.ledger import services

PAYLOADS = ['=HYPERLINK("http://x","y")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)"]


def test_statement_xlsx__formula_references_are_neutralised_strings(finance, cash, fund):
    today = timezone.localdate()
    for payload in PAYLOADS:
        fund(cash, 100, reference=payload)

    with translation.override("en"):
        exported = services.statement_export(
            actor=finance, account_ref=cash.code, start=today, end=today, fmt="xlsx"
        )

    sheet = load_workbook(io.BytesIO(exported.content)).active
    header = next(row[0].row for row in sheet.iter_rows() if row[0].value == "Value date")
    lines = list(sheet.iter_rows(min_row=header + 1, max_row=header + len(PAYLOADS)))
    assert [(row[2].value, row[2].data_type) for row in lines] == [
        ("'" + payload, "s") for payload in PAYLOADS
    ]
    assert [(Decimal(str(row[5].value)), row[5].data_type) for row in lines] == [
        (Decimal("1"), "n")
    ] * 4
