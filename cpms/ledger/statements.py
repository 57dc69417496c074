"""Account statements as files: PDF (`cpms.core.pdf`, with the embedded CJK font) and XLSX
(openpyxl, amounts as exact numbers with the asset's decimals).

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

from cpms.core import pdf, tabular
from cpms.core.errors import ValidationFailed
from cpms.ledger import display
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


@dataclass(frozen=True)
class Holder:
    """Who the statement is for: the customer's name, number and postal address (the address
    is decrypted by the caller, which records the reveal)."""

    name: str
    number: str = ""
    address: str = ""


def _labels(statement: Statement) -> dict[str, str]:
    asset = statement.account.asset.code
    return {
        "title": _("Account statement"),
        "customer": _("Customer"),
        "address": _("Address"),
        "account": _("Account"),
        "code": _("Account code"),
        "period": _("Period"),
        "opening": _("Opening balance"),
        "closing": _("Closing balance"),
        "date": _("Value date"),
        "transfer": _("Transfer no."),
        "memo": _("Reference"),
        "counterparty": _("Counterparty"),
        "debit": _("Debit (%(asset)s)") % {"asset": asset},
        "credit": _("Credit (%(asset)s)") % {"asset": asset},
        "balance": _("Balance (%(asset)s)") % {"asset": asset},
        "totals": _("Totals"),
        "generated": _("Generated %(when)s · amounts in %(asset)s"),
    }


def _pdf_amount(statement: Statement, value: int) -> str:
    return display.money(value, statement.account.asset, code=False)


def _pdf_facts(
    statement: Statement, holder: Holder | None, labels: dict[str, str], cell: Any
) -> list[list[Any]]:
    """The rows of the facts table: customer and address (when for a customer), account,
    code, period, opening and closing balance."""
    account = statement.account
    code = account.asset.code
    facts = []
    if holder is not None:
        name = f"{holder.name} ({holder.number})" if holder.number else holder.name
        facts.append([cell(labels["customer"]), cell(name)])
        facts.append([cell(labels["address"]), cell(holder.address)])
    opening = _pdf_amount(statement, statement.opening)
    closing = _pdf_amount(statement, statement.closing)
    facts += [
        [cell(labels["account"]), cell(display.account_label(account))],
        [cell(labels["code"]), cell(account.code)],
        [
            cell(labels["period"]),
            cell(f"{statement.start.isoformat()} – {statement.end.isoformat()}"),
        ],
        [cell(labels["opening"]), cell(f"{opening} {code}")],
        [cell(labels["closing"]), cell(f"{closing} {code}")],
    ]
    return facts


def _pdf_lines(
    statement: Statement, labels: dict[str, str], cell: Any, styles: pdf.TextStyles
) -> list[list[Any]]:
    """The rows of the lines table: header, one row per line with the running balance,
    totals."""
    right = styles.right

    def amount(value: int) -> str:
        return _pdf_amount(statement, value)

    rows = [
        [
            cell(labels["date"]),
            cell(labels["transfer"]),
            cell(labels["memo"]),
            cell(labels["counterparty"]),
            cell(labels["debit"], right),
            cell(labels["credit"], right),
            cell(labels["balance"], right),
        ]
    ]
    for line in statement.lines:
        rows.append(
            [
                cell(line.transfer.value_date.isoformat()),
                cell(f"#{line.transfer.pk}"),
                cell(display.memo(line.transfer)),
                cell(line.counterparty_name),
                cell(amount(line.debit) if line.debit else "", right),
                cell(amount(line.credit) if line.credit else "", right),
                cell(amount(line.balance), right),
            ]
        )
    rows.append(
        [
            cell(labels["totals"], styles.text),
            cell(""),
            cell(""),
            cell(""),
            cell(amount(statement.total_debits), right),
            cell(amount(statement.total_credits), right),
            cell(amount(statement.closing), right),
        ]
    )
    return rows


def render_pdf(
    statement: Statement,
    *,
    holder: Holder | None = None,
    generated_at: datetime.datetime | None = None,
) -> bytes:
    """The statement as a PDF in the reader's language: the customer's name and address, the
    account by name, amounts with thousands separators, column headers that wrap between
    words (Chinese text wraps between characters)."""
    styles = pdf.text_styles(size=9, leading=12)
    labels = _labels(statement)
    generated = timezone.localtime(generated_at or timezone.now())

    def cell(text: Any, style: Any = None) -> Any:
        return pdf.paragraph(text, style or styles.for_text(text))

    story = [
        pdf.paragraph(labels["title"], styles.title),
        pdf.grid_table(
            _pdf_facts(statement, holder, labels, cell),
            widths_mm=(45, 140),
            grid=0.4,
            valign_top=False,
        ),
        pdf.space(6),
        # 273 mm of landscape A4 between the margins
        pdf.grid_table(
            _pdf_lines(statement, labels, cell, styles),
            widths_mm=(24, 24, 68, 55, 34, 34, 34),
            grid=0.4,
            shade_first_row=True,
            shade_last_row=True,
            repeat_header=True,
        ),
        pdf.space(6),
        cell(
            labels["generated"]
            % {"when": generated.strftime("%Y-%m-%d %H:%M"), "asset": statement.account.asset.code}
        ),
    ]
    return pdf.render(
        story,
        title=f"{labels['title']} {statement.account.code}",
        landscape=True,
        margins_mm=12,
        invariant=True,
    )


# ------------------------------------------------------------------------ XLSX


def _xlsx_facts(sheet: Any, statement: Statement, holder: Holder | None) -> tuple[int, int]:
    """The account facts and the opening balance; answers the rows of the two dates."""
    account = statement.account
    facts: list[tuple[str, Any]] = []
    if holder is not None:
        facts.append((_("Customer"), f"{holder.name} ({holder.number})"))
    facts += [
        (_("Account code"), account.code),
        (_("Account"), display.account_label(account)),
        (_("Asset"), account.asset.code),
        (_("From"), statement.start),
        (_("To"), statement.end),
    ]
    for label, value in facts:
        tabular.xlsx_append(sheet, [str(label), value])
    date_rows = (sheet.max_row - 1, sheet.max_row)
    tabular.xlsx_append(sheet, [_("Opening balance"), amount_decimal(statement, statement.opening)])
    return date_rows


def _xlsx_lines(sheet: Any, statement: Statement, header_font: Any) -> int:
    """The header, one row per line and the totals row; answers the header's row."""
    tabular.xlsx_append(
        sheet,
        [
            _("Value date"),
            _("Transfer no."),
            _("Reference"),
            _("Counterparty"),
            _("Debit"),
            _("Credit"),
            _("Balance"),
        ],
    )
    header_row = sheet.max_row
    for column in range(1, 8):
        sheet.cell(row=header_row, column=column).font = header_font
    for line in statement.lines:
        tabular.xlsx_append(
            sheet,
            [
                line.transfer.value_date,
                line.transfer.pk,
                display.memo(line.transfer),
                line.counterparty_name,
                amount_decimal(statement, line.debit) if line.debit else None,
                amount_decimal(statement, line.credit) if line.credit else None,
                amount_decimal(statement, line.balance),
            ],
        )
        sheet.cell(row=sheet.max_row, column=1).number_format = "yyyy-mm-dd"
    tabular.xlsx_append(
        sheet,
        [
            _("Totals"),
            None,
            None,
            None,
            amount_decimal(statement, statement.total_debits),
            amount_decimal(statement, statement.total_credits),
            None,
        ],
    )
    return header_row


def render_xlsx(statement: Statement, *, holder: Holder | None = None) -> bytes:
    """One sheet in the reader's language: the account facts, opening balance, one row per
    line, totals and closing balance. Amounts are numbers with the asset's decimals (Decimal
    from the exact text), shown with thousands separators."""
    from openpyxl.styles import Font

    exponent = statement.account.asset.exponent
    number_format = "#,##0" + ("." + "0" * exponent if exponent else "")
    workbook = tabular.xlsx_workbook()
    sheet = workbook.active
    sheet.title = str(_("Statement"))[:31]
    date_rows = _xlsx_facts(sheet, statement, holder)
    sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    tabular.xlsx_append(sheet, [])
    header_row = _xlsx_lines(sheet, statement, Font(bold=True))
    tabular.xlsx_append(sheet, [_("Closing balance"), amount_decimal(statement, statement.closing)])
    for row in sheet.iter_rows(min_row=header_row + 1, max_row=sheet.max_row):
        for amount_cell in row[4:7]:
            amount_cell.number_format = number_format
    sheet.cell(row=sheet.max_row, column=2).number_format = number_format
    for row_number in date_rows:
        sheet.cell(row=row_number, column=2).number_format = "yyyy-mm-dd"
    for letter, width in zip("ABCDEFG", (18, 14, 40, 40, 16, 16, 18), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
