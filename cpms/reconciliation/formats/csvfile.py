"""CSV account-history exports read through a CsvProfile (column mapping).

Rows may come newest-first (Bank of China): the order is detected from the dates (first vs
last row) or, when all dates are equal, from the running balances; rows are then put in
chronological order (stable). With a balance column every row is checked against the previous
one (previous balance + amount == balance) and each mismatch is reported as a problem.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from .base import (
    ParsedStatement,
    StatementLine,
    StatementUnreadable,
    decimal_to_minor,
    finish_statement,
    format_minor,
    parse_decimal,
    unreadable,
)
from .profiles import BUILTIN_PROFILES, CsvProfile

FORMAT = "csv"
HEADER_SEARCH_ROWS = 50


@dataclass
class _Row:
    line: int
    date: datetime.date
    amount: Decimal
    currency: str
    balance: Decimal | None
    account: str
    texts: dict[str, str]


def decode(data: bytes, encodings: tuple[str, ...]) -> str | None:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def head(data: bytes, size: int = 65536) -> bytes:
    """The first `size` bytes cut after a line end, so no multi-byte character is split."""
    if len(data) <= size:
        return data
    return data[:size].rpartition(b"\n")[0] or data[:size]


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(reader.line_num, [cell.strip() for cell in row]) for row in reader]
    except csv.Error as exc:
        raise unreadable(
            _("row %(line)s: the CSV is malformed (%(why)s).")
            % {"line": reader.line_num, "why": exc},
            reader.line_num,
        ) from None


def _header(rows: list[tuple[int, list[str]]], profile: CsvProfile) -> int | None:
    """Position in `rows` of the header row, or None."""
    for position, (_line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if all(column in cells for column in profile.header_contains):
            return position
    return None


def matches(data: bytes, profile: CsvProfile) -> bool:
    """True when the profile's header row is in the file (to pick a stored profile)."""
    text = decode(head(data), profile.encodings)
    if text is None:
        return False
    try:
        rows = _rows(text, profile.delimiter)
    except StatementUnreadable:
        return False
    return _header(rows, profile) is not None


def profile_for(data: bytes) -> CsvProfile | None:
    """The first built-in profile whose header columns appear in the file."""
    for profile in BUILTIN_PROFILES.values():
        if matches(data, profile):
            return profile
    return None


def _blank(value: str) -> bool:
    """Empty, or only dashes (Bank of China writes '----------' for 'no value')."""
    return not value.strip().strip("-")


def _footer(cells: list[str], profile: CsvProfile) -> bool:
    """True when the row's first non-empty cell starts with one of the profile's footer markers."""
    first = next((cell for cell in cells if cell), "")
    return bool(first) and any(first.startswith(marker) for marker in profile.footer_markers)


def _date(text: str, profile: CsvProfile, line: int) -> datetime.date:
    candidates = [text.strip()]
    if " " in text.strip():
        candidates.append(text.strip().split()[0])
    for candidate in candidates:
        for pattern in profile.date_formats:
            try:
                return datetime.datetime.strptime(candidate, pattern).date()
            except ValueError:
                continue
    raise unreadable(
        _("row %(line)s: '%(text)s' in column %(column)s is not a date (expected %(formats)s).")
        % {
            "line": line,
            "text": text,
            "column": profile.date_column,
            "formats": ", ".join(profile.date_formats),
        },
        line,
    )


class _Cells:
    """One data row, read by column name through the profile."""

    def __init__(self, line: int, cells: list[str], index: dict[str, int], profile: CsvProfile):
        self.line, self.cells, self.index, self.profile = line, cells, index, profile

    def text(self, column: str | None) -> str:
        """The cell, '' when the profile has no such column or the cell is blank."""
        if not column:
            return ""
        position = self.index[column]
        value = self.cells[position] if position < len(self.cells) else ""
        return "" if _blank(value) else value

    def joined(self, columns: tuple[str, ...]) -> str:
        return " ".join(value for value in map(self.text, columns) if value)

    def amount(self, column: str) -> Decimal:
        where = _("row %(line)s, column %(column)s") % {"line": self.line, "column": column}
        return parse_decimal(
            self.text(column), where=where, line=self.line, decimal_comma=self.profile.decimal_comma
        )

    def signed_amount(self) -> Decimal:
        profile, line = self.profile, self.line
        if profile.amount_column:
            if not self.text(profile.amount_column):
                raise unreadable(
                    _("row %(line)s: the amount (column %(column)s) is empty.")
                    % {"line": line, "column": profile.amount_column},
                    line,
                )
            amount = self.amount(profile.amount_column)
            if profile.direction_column:
                return abs(amount) * self.direction()
            return amount
        assert profile.debit_column and profile.credit_column
        debit, credit = self.text(profile.debit_column), self.text(profile.credit_column)
        if not debit and not credit:
            raise unreadable(
                _("row %(line)s: neither %(debit)s nor %(credit)s has an amount.")
                % {"line": line, "debit": profile.debit_column, "credit": profile.credit_column},
                line,
            )
        debit_amount = abs(self.amount(profile.debit_column)) if debit else Decimal(0)
        credit_amount = abs(self.amount(profile.credit_column)) if credit else Decimal(0)
        return credit_amount - debit_amount

    def direction(self) -> int:
        """+1 for money in, -1 for money out, from the profile's direction column."""
        profile = self.profile
        assert profile.direction_column
        value = self.cells_text(profile.direction_column)
        if value in profile.direction_in:
            return 1
        if value in profile.direction_out:
            return -1
        raise unreadable(
            _(
                "row %(line)s: '%(text)s' in column %(column)s is neither money in (%(in)s) nor "
                "money out (%(out)s): add it to the profile's direction values or skip rules."
            )
            % {
                "line": self.line,
                "text": value,
                "column": profile.direction_column,
                "in": ", ".join(profile.direction_in),
                "out": ", ".join(profile.direction_out),
            },
            self.line,
        )

    def cells_text(self, column: str) -> str:
        """The cell as written (a lone '/' or '-' kept), '' when missing."""
        position = self.index[column]
        return self.cells[position] if position < len(self.cells) else ""

    def skipped(self) -> bool:
        """True when a skip rule of the profile matches the row (not money in or out)."""
        return any(
            self.cells_text(column) in values for column, values in self.profile.skip_rows.items()
        )

    def currency(self) -> str:
        profile = self.profile
        value = self.text(profile.currency_column)
        if not value:
            return profile.default_currency
        currency = profile.currency_for(value)
        if currency is None:
            raise unreadable(
                _(
                    "row %(line)s: '%(text)s' in column %(column)s is not a known currency (add "
                    "it to the profile's currency aliases)."
                )
                % {"line": self.line, "text": value, "column": profile.currency_column},
                self.line,
            )
        return currency


def _row(line: int, cells: list[str], index: dict[str, int], profile: CsvProfile) -> _Row:
    row = _Cells(line, cells, index, profile)
    balance_column = profile.balance_column
    return _Row(
        line=line,
        date=_date(row.text(profile.date_column), profile, line),
        amount=row.signed_amount(),
        currency=row.currency(),
        balance=row.amount(balance_column) if balance_column and row.text(balance_column) else None,
        account=row.text(profile.account_column),
        texts={
            "reference": row.joined(profile.reference_columns),
            "description": row.joined(profile.description_columns),
            "counterparty": row.joined(profile.counterparty_columns),
            "counterparty_account": row.joined(profile.counterparty_account_columns),
            "bank_code": row.text(profile.bank_code_column),
        },
    )


def _chains(rows: list[_Row]) -> int:
    """How many consecutive pairs satisfy previous balance + amount == balance."""
    return sum(
        1
        for previous, row in itertools.pairwise(rows)
        if previous.balance is not None
        and row.balance is not None
        and previous.balance + row.amount == row.balance
    )


def _chronological(rows: list[_Row]) -> list[_Row]:
    descending = rows[0].date > rows[-1].date
    if rows[0].date == rows[-1].date:
        descending = _chains(rows[::-1]) > _chains(rows)
    if descending:
        rows = rows[::-1]
    return sorted(rows, key=lambda row: row.date)


def _statement(rows: list[_Row], profile: CsvProfile) -> ParsedStatement:
    rows = _chronological(rows)
    currency = rows[0].currency
    problems: list[str] = []
    lines: list[StatementLine] = []
    previous: int | None = None
    for position, row in enumerate(rows):
        where = _("row %(line)s") % {"line": row.line}
        amount = decimal_to_minor(row.amount, currency, where=where, line=row.line)
        balance = None
        if row.balance is not None:
            balance = decimal_to_minor(row.balance, currency, where=where, line=row.line)
        if (
            position
            and previous is not None
            and balance is not None
            and previous + amount != balance
        ):
            problems.append(
                _(
                    "row %(line)s (%(date)s): balance %(balance)s, expected %(previous)s "
                    "%(sign)s %(amount)s = %(expected)s."
                )
                % {
                    "line": row.line,
                    "date": row.date.isoformat(),
                    "balance": format_minor(balance, currency),
                    "previous": format_minor(previous, currency),
                    "sign": "-" if amount < 0 else "+",
                    "amount": format_minor(abs(amount), currency),
                    "expected": format_minor(previous + amount, currency),
                }
            )
        previous = balance
        lines.append(
            StatementLine(
                index=position,
                booking_date=row.date,
                value_date=None,
                amount_minor=amount,
                currency=currency,
                reference=row.texts["reference"],
                description=row.texts["description"],
                counterparty=row.texts["counterparty"],
                counterparty_account=row.texts["counterparty_account"],
                bank_code=row.texts["bank_code"],
                running_balance_minor=balance,
            )
        )
    first, last = lines[0], lines[-1]
    opening = (
        None
        if first.running_balance_minor is None
        else first.running_balance_minor - first.amount_minor
    )
    closing = last.running_balance_minor
    return finish_statement(
        format=FORMAT,
        statement_id=f"{profile.name}:{first.booking_date}..{last.booking_date}",
        account=rows[0].account,
        currency=currency,
        opening_minor=opening,
        opening_date=first.booking_date if opening is not None else None,
        closing_minor=closing,
        closing_date=last.booking_date if closing is not None else None,
        lines=tuple(lines),
        profile=profile.name,
        problems=problems,
    )


def parse(data: bytes, profile: CsvProfile) -> list[ParsedStatement]:
    text = decode(data, profile.encodings)
    if text is None:
        raise unreadable(
            _("The file cannot be decoded as %(encodings)s (profile '%(profile)s').")
            % {"encodings": ", ".join(profile.encodings), "profile": profile.name}
        )
    rows = _rows(text, profile.delimiter)
    header = _header(rows, profile)
    if header is None:
        raise unreadable(
            _(
                "No header row with the columns %(columns)s in the first %(n)s rows (profile "
                "'%(profile)s')."
            )
            % {
                "columns": ", ".join(profile.header_contains),
                "n": HEADER_SEARCH_ROWS,
                "profile": profile.name,
            }
        )
    header_line, header_cells = rows[header]
    index: dict[str, int] = {}
    for position, name in enumerate(header_cells):
        index.setdefault(name, position)
    for field_name, column in profile.columns():
        if column not in index:
            raise unreadable(
                _(
                    "Column '%(column)s' (%(field)s of profile '%(profile)s') is not in the header "
                    "(row %(line)s)."
                )
                % {
                    "column": column,
                    "field": field_name,
                    "profile": profile.name,
                    "line": header_line,
                },
                header_line,
            )
    groups: dict[tuple[str, str], list[_Row]] = {}
    for line, cells in rows[header + 1 :]:
        if _footer(cells, profile):
            break  # a total or record-count row: the table ends here
        if all(_blank(cell) for cell in cells):
            continue  # empty or a separator line of dashes
        if _Cells(line, cells, index, profile).skipped():
            continue
        row = _row(line, cells, index, profile)
        groups.setdefault((row.account, row.currency), []).append(row)
    if not groups:
        raise unreadable(
            _("The file has a header (row %(line)s) but no rows.") % {"line": header_line},
            header_line,
        )
    return [_statement(group, profile) for group in groups.values()]
