"""Account statements as files: PDF (reportlab, with the CJK font the custody receipt embeds)
and XLSX (openpyxl, amounts as exact numbers with the asset's decimals).

`services.statement_export` is the audited sensitive read behind the console and API downloads: it
checks `ledger.view` and the account's scope, renders the file and records
`ledger.statement_exported` in the same transaction (nothing is recorded when rendering fails).
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.core import tabular
from cpms.core.errors import ValidationFailed
from cpms.ledger.assets import format_minor
from cpms.ledger.selectors import Statement

FORMATS = ("pdf", "xlsx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# a statement longer than this many days is refused (a year and a bit)
MAX_DAYS = 400


@dataclass(frozen=True)
class StatementFile:
    filename: str
    content_type: str
    content: bytes
    statement: Statement


def amount_text(statement: Statement, amount: int) -> str:
    return format_minor(amount, statement.account.asset.exponent)


def amount_decimal(statement: Statement, amount: int) -> Decimal:
    """The exact decimal value of a minor-unit amount (never through a float)."""
    return Decimal(format_minor(amount, statement.account.asset.exponent))


def validate_period(start: Any, end: Any) -> tuple[datetime.date, datetime.date]:
    """Both dates given, start <= end, at most MAX_DAYS days: else a refusal naming the field."""
    problems: dict[str, str] = {}
    if not isinstance(start, datetime.date):
        problems["start"] = _("Give the first day of the statement (YYYY-MM-DD).")
    if not isinstance(end, datetime.date):
        problems["end"] = _("Give the last day of the statement (YYYY-MM-DD).")
    if not problems and start > end:
        problems["end"] = _("The last day comes before the first day.")
    if not problems and (end - start).days >= MAX_DAYS:
        problems["end"] = _("A statement covers at most %(days)d days.") % {"days": MAX_DAYS}
    if problems:
        raise ValidationFailed(_("The statement period is not valid."), fields=problems)
    return start, end


def filename(statement: Statement, fmt: str) -> str:
    code = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in statement.account.code)
    return f"statement-{code}-{statement.start.isoformat()}-{statement.end.isoformat()}.{fmt}"


# ------------------------------------------------------------------------ PDF


def _escape(text: Any) -> str:
    return (
        str(text if text not in (None, "") else "—")
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def render_pdf(statement: Statement, *, generated_at: datetime.datetime | None = None) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from cpms.custody.receipt import cjk_font

    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    normal = ParagraphStyle("normal", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    right = ParagraphStyle("right", parent=normal, alignment=2)
    account = statement.account
    asset = account.asset.code
    generated = timezone.localtime(generated_at or timezone.now())

    def cell(text: Any, style: ParagraphStyle = normal) -> Paragraph:
        return Paragraph(_escape(text), style)

    facts = [
        [cell("账户 Account"), cell(account.code)],
        [cell("名称 Name"), cell(account.name)],
        [cell("资产 Asset"), cell(asset)],
        [
            cell("期间 Period"),
            cell(f"{statement.start.isoformat()} – {statement.end.isoformat()}"),
        ],
        [cell("期初余额 Opening balance"), cell(amount_text(statement, statement.opening))],
        [cell("期末余额 Closing balance"), cell(amount_text(statement, statement.closing))],
    ]
    header = [
        cell("日期 Date"),
        cell("编号 Transfer"),
        cell("摘要 Reference"),
        cell("对方账户 Counterparty"),
        cell("借方 Debit", right),
        cell("贷方 Credit", right),
        cell("余额 Balance", right),
    ]
    rows = [header]
    for line in statement.lines:
        rows.append(
            [
                cell(line.transfer.value_date.isoformat()),
                cell(f"#{line.transfer.pk}"),
                cell(line.transfer.reference),
                cell(line.counterparty),
                cell(amount_text(statement, line.debit) if line.debit else "", right),
                cell(amount_text(statement, line.credit) if line.credit else "", right),
                cell(amount_text(statement, line.balance), right),
            ]
        )
    rows.append(
        [
            cell("合计 Totals"),
            cell(""),
            cell(""),
            cell(""),
            cell(amount_text(statement, statement.total_debits), right),
            cell(amount_text(statement, statement.total_credits), right),
            cell(amount_text(statement, statement.closing), right),
        ]
    )
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    facts_table = Table(facts, colWidths=[55 * mm, 120 * mm])
    facts_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
    lines_table = Table(
        rows,
        colWidths=[24 * mm, 22 * mm, 70 * mm, 50 * mm, 32 * mm, 32 * mm, 34 * mm],
        repeatRows=1,
    )
    lines_table.setStyle(grid)
    story = [
        Paragraph("账户对账单 Account statement", title),
        facts_table,
        Spacer(1, 6 * mm),
        lines_table,
        Spacer(1, 6 * mm),
        cell(
            "生成时间 Generated "
            + generated.strftime("%Y-%m-%d %H:%M")
            + " · 金额以 "
            + asset
            + " 计 Amounts in "
            + asset
        ),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Statement {account.code}",
        author="CPMS",
        invariant=1,
    )
    document.build(story)
    return buffer.getvalue()


# ------------------------------------------------------------------------ XLSX


def render_xlsx(statement: Statement) -> bytes:
    """One sheet: the account facts, opening balance, one row per line, totals and closing
    balance. Amounts are numbers with the asset's decimals (Decimal from the exact text)."""
    from openpyxl.styles import Font

    exponent = statement.account.asset.exponent
    number_format = "#,##0" + ("." + "0" * exponent if exponent else "")
    workbook = tabular.xlsx_workbook()
    sheet = workbook.active
    sheet.title = "Statement"
    bold = Font(bold=True)
    account = statement.account
    facts = (
        ("Account", account.code),
        ("Name", account.name),
        ("Asset", account.asset.code),
        ("Start", statement.start),
        ("End", statement.end),
    )
    for label, value in facts:
        tabular.xlsx_append(sheet, [label, value])
    tabular.xlsx_append(sheet, ["Opening balance", amount_decimal(statement, statement.opening)])
    sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    tabular.xlsx_append(sheet, [])
    tabular.xlsx_append(
        sheet, ["Date", "Transfer", "Reference", "Counterparty", "Debit", "Credit", "Balance"]
    )
    header_row = sheet.max_row
    for column in range(1, 8):
        sheet.cell(row=header_row, column=column).font = bold
    for line in statement.lines:
        tabular.xlsx_append(
            sheet,
            [
                line.transfer.value_date,
                line.transfer.pk,
                line.transfer.reference,
                line.counterparty,
                amount_decimal(statement, line.debit) if line.debit else None,
                amount_decimal(statement, line.credit) if line.credit else None,
                amount_decimal(statement, line.balance),
            ],
        )
        sheet.cell(row=sheet.max_row, column=1).number_format = "yyyy-mm-dd"
    tabular.xlsx_append(
        sheet,
        [
            "Totals",
            None,
            None,
            None,
            amount_decimal(statement, statement.total_debits),
            amount_decimal(statement, statement.total_credits),
            None,
        ],
    )
    tabular.xlsx_append(sheet, ["Closing balance", amount_decimal(statement, statement.closing)])
    for row in sheet.iter_rows(min_row=header_row + 1, max_row=sheet.max_row):
        for amount_cell in row[4:7]:
            amount_cell.number_format = number_format
    sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    sheet.cell(row=4, column=2).number_format = "yyyy-mm-dd"
    sheet.cell(row=5, column=2).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFG", (16, 12, 40, 32, 16, 16, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------ audited export
