"""Value types shared by the statement parsers, and exact amount and date helpers.

Pure Python: no models, no database. Amounts are parsed as Decimal and converted to integer
minor units of the statement currency (ISO 4217 exponent); an amount with more decimals than
the currency has is refused rather than rounded.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed
from cpms.core.money import minor_exponent, to_major, to_minor

FORMATS = ("mt940", "camt053", "csv")

# the outcome of the balance check of a statement
ADDS_UP = "adds_up"
DOES_NOT_ADD_UP = "does_not_add_up"
NOT_CHECKABLE = "not_checkable"


class StatementUnreadable(ValidationFailed):
    """The file cannot be read as a statement of the expected format. The message says where
    (line, row or element) and what was expected; `fields` carries `file` and `line` when known."""

    code = "reconciliation.unreadable"

    def default_message(self) -> str:
        return _("The file is not a readable bank statement.")


def visible(text: str) -> str:
    """Text for a message: control characters (SOH, ETX, ...) written as \\xNN escapes."""
    return "".join(
        f"\\x{ord(ch):02x}" if (ord(ch) < 32 and ch != "\t") or ord(ch) == 127 else ch
        for ch in text
    )


def unreadable(message: str, line: int | None = None, **fields: object) -> StatementUnreadable:
    """StatementUnreadable with fields {"file": message, "line": N (when known), ...}."""
    extra: dict[str, object] = {"file": message, **fields}
    if line is not None:
        extra["line"] = line
    return StatementUnreadable(message, fields=extra)


@dataclass(frozen=True)
class StatementLine:
    index: int
    booking_date: datetime.date
    value_date: datetime.date | None
    amount_minor: int
    currency: str
    reference: str
    description: str
    counterparty: str
    counterparty_account: str
    bank_code: str
    running_balance_minor: int | None = None


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    statement_id: str
    account: str
    currency: str
    opening_minor: int | None
    opening_date: datetime.date | None
    closing_minor: int | None
    closing_date: datetime.date | None
    lines: tuple[StatementLine, ...]
    profile: str = ""
    problems: tuple[str, ...] = ()

    @property
    def entries_total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def consistent(self) -> bool:
        """Opening + entries == closing and no problem found; False when a balance is unknown."""
        if self.opening_minor is None or self.closing_minor is None or self.problems:
            return False
        return self.opening_minor + self.entries_total_minor == self.closing_minor

    @property
    def balance_check(self) -> str:
        """ADDS_UP, DOES_NOT_ADD_UP, or NOT_CHECKABLE when the file gives no balance at all (a
        wallet export without a balance column): such a statement is not wrong, only
        uncheckable."""
        if self.consistent:
            return ADDS_UP
        no_balance = (
            self.opening_minor is None
            and self.closing_minor is None
            and all(line.running_balance_minor is None for line in self.lines)
        )
        return NOT_CHECKABLE if no_balance and not self.problems else DOES_NOT_ADD_UP


# --- amounts -----------------------------------------------------------------------------


def format_minor(amount_minor: int, currency: str) -> str:
    """1234500 CNY -> '12,345.00' (for messages)."""
    major = to_major(amount_minor, currency)
    assert major is not None
    exponent = minor_exponent(currency)
    return f"{major:,.{exponent}f}"


def decimal_to_minor(amount: Decimal, currency: str, *, where: str, line: int | None = None) -> int:
    """Exact conversion: refuses an amount with more decimals than the currency's minor unit."""
    minor = to_minor(amount, currency)
    if Decimal(minor).scaleb(-minor_exponent(currency)) != amount:
        raise unreadable(
            _("%(where)s: amount %(amount)s has more decimals than %(currency)s allows (%(n)s).")
            % {
                "where": where,
                "amount": amount,
                "currency": currency,
                "n": minor_exponent(currency),
            },
            line,
        )
    return minor


def parse_decimal(
    text: str, *, where: str, decimal_comma: bool = False, line: int | None = None
) -> Decimal:
    """'1,234.00', '-2,600.00', '¥3,000', '(12.50)' -> Decimal; with decimal_comma '84349,74'."""
    raw = text
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    for symbol in ("¥", "￥", "$", "€", "£"):
        cleaned = cleaned.replace(symbol, "")
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1]
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        if not cleaned or not any(ch.isdigit() for ch in cleaned):
            raise InvalidOperation
        value = Decimal(cleaned)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise unreadable(
            _("%(where)s: '%(text)s' is not an amount.") % {"where": where, "text": raw},
            line,
        ) from None
    return -value if negative else value


# --- dates -------------------------------------------------------------------------------


def make_date(
    year: int, month: int, day: int, *, where: str, raw: str, line: int | None = None
) -> datetime.date:
    """A date, or StatementUnreadable saying e.g. 'line 6: 30 February is not a date'."""
    if not 1 <= month <= 12:
        raise unreadable(
            _("%(where)s: '%(raw)s' is not a date (month %(month)s does not exist).")
            % {"where": where, "raw": raw, "month": month},
            line,
        )
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise unreadable(
            _("%(where)s: %(day)s %(month)s is not a date.")
            % {"where": where, "day": day, "month": MONTHS[month]},
            line,
        ) from None


def yymmdd(text: str, *, where: str, line: int | None = None) -> datetime.date:
    """SWIFT YYMMDD; years 80-99 are 19xx, 00-79 are 20xx."""
    if len(text) != 6 or not text.isdigit():
        raise unreadable(
            _("%(where)s: '%(raw)s' is not a date (expected YYMMDD).")
            % {"where": where, "raw": text},
            line,
        )
    year = int(text[:2])
    year += 1900 if year >= 80 else 2000
    return make_date(year, int(text[2:4]), int(text[4:6]), where=where, raw=text, line=line)


def balance_problem(
    opening: int | None, total: int, closing: int | None, currency: str
) -> str | None:
    """The message for a statement whose opening balance plus its entries is not its closing."""
    if opening is None or closing is None or opening + total == closing:
        return None
    return _(
        "Opening balance %(opening)s + entries %(total)s = %(expected)s, but the closing balance "
        "is %(closing)s (difference %(difference)s %(currency)s)."
    ) % {
        "opening": format_minor(opening, currency),
        "total": format_minor(total, currency),
        "expected": format_minor(opening + total, currency),
        "closing": format_minor(closing, currency),
        "difference": format_minor(closing - opening - total, currency),
        "currency": currency,
    }


def finish_statement(**values: Any) -> ParsedStatement:
    """Build a ParsedStatement, adding the opening + entries = closing problem when it fails.
    No such sum is written when the balances or lines are not all in the statement currency
    (`balance_currencies`: the currencies the balances were given in): a sum never mixes two
    currencies, the parser reports the currency problem instead."""
    problems = list(values.pop("problems", ()))
    balance_currencies = set(values.pop("balance_currencies", ()))
    lines = values["lines"]
    currencies = balance_currencies | {line.currency for line in lines}
    if currencies - {values["currency"]}:
        return ParsedStatement(problems=tuple(problems), **values)
    problem = balance_problem(
        values["opening_minor"],
        sum(line.amount_minor for line in lines),
        values["closing_minor"],
        values["currency"],
    )
    if problem:
        problems.append(problem)
    return ParsedStatement(problems=tuple(problems), **values)


def chronological(lines: list[StatementLine]) -> tuple[StatementLine, ...]:
    """Stable sort by booking date and renumber `index` 0.."""
    ordered = sorted(lines, key=lambda line: line.booking_date)
    return tuple(replace(line, index=position) for position, line in enumerate(ordered))
