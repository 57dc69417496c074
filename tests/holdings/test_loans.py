"""Loan repayment schedules against hand-computed figures (pure functions, no database)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpms.holdings import loans

START = datetime.date(2026, 1, 31)


def test_schedule__equal_principal_hand_computed():
    # 1,200.00 over 12 months at 12 % a year: 1 % a month on the balance, 100.00 principal each
    lines = loans.schedule(
        principal_minor=120_000,
        annual_rate_percent=Decimal("12"),
        term_months=12,
        method="equal_principal",
        start_date=START,
    )

    assert [line.principal_minor for line in lines] == [10_000] * 12
    assert [line.interest_minor for line in lines] == [1200 - 100 * k for k in range(12)]
    assert lines[0].payment_minor == 11_200
    assert lines[-1].payment_minor == 10_100
    assert lines[0].balance_after_minor == 110_000
    assert lines[-1].balance_after_minor == 0
    assert sum(line.interest_minor for line in lines) == 7_800
    assert sum(line.principal_minor for line in lines) == 120_000


def test_schedule__equal_instalment_hand_computed():
    # annuity 1200 × 0.01 × 1.01^12 / (1.01^12 − 1) = 106.6185… -> 106.62 a month
    lines = loans.schedule(
        principal_minor=120_000,
        annual_rate_percent=Decimal("12"),
        term_months=12,
        method="equal_instalment",
        start_date=START,
    )

    assert loans.annuity_payment(120_000, Decimal("12"), 12) == 10_662
    first, second, last = lines[0], lines[1], lines[-1]
    assert (first.interest_minor, first.principal_minor, first.balance_after_minor) == (
        1200,
        9462,
        110_538,
    )
    # 1105.38 -> 1105; 10662 - 1105 = 9557; 110538 - 9557 = 100981
    assert (second.interest_minor, second.principal_minor, second.balance_after_minor) == (
        1105,
        9557,
        100_981,
    )
    assert all(line.payment_minor == 10_662 for line in lines[:-1])
    assert last.balance_after_minor == 0
    assert sum(line.principal_minor for line in lines) == 120_000
    # the last line absorbs the rounding of the previous eleven
    assert last.payment_minor == last.principal_minor + last.interest_minor
    assert abs(last.payment_minor - 10_662) <= 12


def test_schedule__zero_rate_splits_principal_with_last_line_absorbing():
    lines = loans.schedule(
        principal_minor=100_000,
        annual_rate_percent=Decimal("0"),
        term_months=3,
        method="equal_instalment",
        start_date=START,
    )

    assert [line.principal_minor for line in lines] == [33_333, 33_333, 33_334]
    assert [line.interest_minor for line in lines] == [0, 0, 0]


def test_schedule__due_dates_clamp_to_month_end():
    lines = loans.schedule(
        principal_minor=300,
        annual_rate_percent=Decimal("4.35"),
        term_months=3,
        method="equal_principal",
        start_date=START,
    )

    assert [line.due_on for line in lines] == [
        datetime.date(2026, 2, 28),
        datetime.date(2026, 3, 31),
        datetime.date(2026, 4, 30),
    ]


def test_schedule__refuses_nonsense():
    with pytest.raises(ValueError):
        loans.schedule(
            principal_minor=0,
            annual_rate_percent=Decimal("1"),
            term_months=1,
            method="equal_principal",
            start_date=START,
        )
    with pytest.raises(ValueError):
        loans.schedule(
            principal_minor=1,
            annual_rate_percent=Decimal("1"),
            term_months=1,
            method="balloon",
            start_date=START,
        )


@given(
    principal=st.integers(min_value=1, max_value=10**12),
    rate=st.decimals(min_value=0, max_value=36, places=4),
    term=st.integers(min_value=1, max_value=360),
    method=st.sampled_from(["equal_instalment", "equal_principal"]),
)
def test_schedule__principal_sums_exactly_and_balance_ends_at_zero(principal, rate, term, method):
    lines = loans.schedule(
        principal_minor=principal,
        annual_rate_percent=rate,
        term_months=term,
        method=method,
        start_date=START,
    )

    assert len(lines) == term
    assert sum(line.principal_minor for line in lines) == principal
    assert lines[-1].balance_after_minor == 0
    assert all(line.principal_minor >= 0 and line.interest_minor >= 0 for line in lines)
    assert all(line.payment_minor == line.principal_minor + line.interest_minor for line in lines)
    balance = principal
    for line in lines:
        balance -= line.principal_minor
        assert line.balance_after_minor == balance
