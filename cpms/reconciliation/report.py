"""The daily reconciliation report as an XLSX workbook (through cpms.core.tabular)."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

from cpms.core import tabular
from cpms.ledger.assets import format_minor


def report_xlsx(report: dict[str, Any]) -> bytes:
    book = tabular.xlsx_workbook()
    sheet = book.active
    sheet.title = report["date"]
    tabular.xlsx_append(sheet, [_("Reconciliation report"), report["date"]])
    tabular.xlsx_append(
        sheet,
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
        ],
    )
    for row in report["accounts"]:
        exponent = row["exponent"]

        def money(value: int | None, exponent: int = exponent) -> str:
            return "" if value is None else format_minor(value, exponent)

        tabular.xlsx_append(
            sheet,
            [
                row.get("label") or row["code"],
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
            ],
        )
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()
