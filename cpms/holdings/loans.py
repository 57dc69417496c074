"""Loan repayment schedules, computed exactly in integer minor units (pure functions).

- Equal instalments (等额本息): every payment is the annuity
  `P·r·(1+r)^n / ((1+r)^n − 1)` rounded half-up to the minor unit (`P/n` when r = 0).
- Equal principal (等额本金): every line repays `P/n` (rounded half-up) of principal.

Interest of a line is the outstanding balance × the monthly rate (annual ÷ 12), rounded half-up.
The last line repays whatever is left, so the principal column sums to P exactly and the
balance ends at 0. Line k falls due k months after the start date (the day clamped to the
month's end)."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from cpms.holdings.choices import RepaymentMethod

PRECISION = 50


@dataclass(frozen=True)
class Line:
    number: int
    due_on: datetime.date
    principal_minor: int
    interest_minor: int
    payment_minor: int
    balance_after_minor: int


def add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last_day))


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def monthly_rate(annual_rate_percent: Decimal) -> Decimal:
    return Decimal(annual_rate_percent) / Decimal(1200)


def annuity_payment(principal_minor: int, annual_rate_percent: Decimal, term_months: int) -> int:
    with localcontext() as context:
        context.prec = PRECISION
        rate = monthly_rate(annual_rate_percent)
        if rate == 0:
            return _round(Decimal(principal_minor) / term_months)
        growth = (1 + rate) ** term_months
        return _round(Decimal(principal_minor) * rate * growth / (growth - 1))


def schedule(
    *,
    principal_minor: int,
    annual_rate_percent: Decimal,
    term_months: int,
    method: str,
    start_date: datetime.date,
) -> list[Line]:
    if principal_minor <= 0 or term_months <= 0:
        raise ValueError("principal and term must be positive")
    if method not in RepaymentMethod.values:
        raise ValueError(f"unknown repayment method {method!r}")
    lines: list[Line] = []
    with localcontext() as context:
        context.prec = PRECISION
        rate = monthly_rate(annual_rate_percent)
        balance = principal_minor
        if method == RepaymentMethod.EQUAL_INSTALMENT:
            payment = annuity_payment(principal_minor, annual_rate_percent, term_months)
        else:
            share = _round(Decimal(principal_minor) / term_months)
        for number in range(1, term_months + 1):
            interest = _round(Decimal(balance) * rate)
            if number == term_months:
                principal = balance
            elif method == RepaymentMethod.EQUAL_INSTALMENT:
                principal = min(max(payment - interest, 0), balance)
            else:
                principal = min(share, balance)
            balance -= principal
            lines.append(
                Line(
                    number=number,
                    due_on=add_months(start_date, number),
                    principal_minor=principal,
                    interest_minor=interest,
                    payment_minor=principal + interest,
                    balance_after_minor=balance,
                )
            )
    return lines
