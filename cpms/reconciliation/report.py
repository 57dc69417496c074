"""The daily reconciliation report as an XLSX workbook (openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from cpms.ledger.assets import format_minor


def report_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = report["date"]
    sheet.append([_("Reconciliation report"), report["date"]])
    sheet.append(
        [
            _("Bank account"),
            _("Asset"),
            _("Statement closing date"),
            _("Statement closing"),
            _("Ledger balance"),
            _("Ledger at statement closing"),
            _("Difference"),
            _("Lines"),
            _("Matched"),
            _("Unmatched lines"),
            _("Unmatched transfers"),
            _("Open breaks"),
            "0-1",
            "2-7",
            "8-30",
            ">30",
            _("Statements not adding up"),
            _("Statements with balance not checkable"),
        ]
    )
    for row in report["accounts"]:
        exponent = row["exponent"]

        def money(value: int | None, exponent: int = exponent) -> str:
            return "" if value is None else format_minor(value, exponent)

        sheet.append(
            [
                row["code"],
                row["asset"],
                row["statement_closing_date"] or "",
                money(row["statement_closing_minor"]),
                money(row["ledger_balance_minor"]),
                money(row["ledger_at_closing_minor"]),
                money(row["difference_minor"]),
                row["lines_total"],
                row["lines_matched"],
                row["lines_unmatched"],
                row["transfers_unmatched"],
                row["open_breaks"],
                *row["breaks_by_age"].values(),
                row.get("statements_not_adding_up", 0),
                row.get("statements_not_checkable", 0),
            ]
        )
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()
