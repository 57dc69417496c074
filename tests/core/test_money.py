"""Typed amounts in the currency's main unit -> exact minor units; formatting for people."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpms.core.money import AmountError, format_minor, minor_exponent, parse_major, to_minor


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("800,000.00", "CNY", 80_000_000),
        ("800000", "CNY", 80_000_000),
        ("１２.５", "CNY", 1_250),
        ("¥ 1,234.5", "CNY", 123_450),
        ("1,234.50 CNY", "CNY", 123_450),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1_234),
        ("0.01", "CNY", 1),
    ],
)
def test_typed_amounts_become_exact_minor_units(text, currency, expected):
    assert parse_major(text, currency) == expected


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("1.234", "CNY", "amount.too_many_decimals"),
        ("1.5", "JPY", "amount.too_many_decimals"),
        ("12,34", "CNY", "amount.not_a_number"),
        ("1e5", "CNY", "amount.not_a_number"),
        ("abc", "CNY", "amount.not_a_number"),
        ("NaN", "CNY", "amount.not_a_number"),
        ("-1", "CNY", "amount.negative"),
        ("0", "CNY", "amount.zero"),
        ("", "CNY", "amount.required"),
        ("10,000,000,000,000.00", "CNY", "amount.too_large"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text, currency, code):
    with pytest.raises(AmountError) as refused:
        parse_major(text, currency)
    assert refused.value.code == code
    assert refused.value.message


def test_the_message_names_the_currency_and_its_decimals():
    with pytest.raises(AmountError) as refused:
        parse_major("1.234", "CNY")
    assert "CNY" in refused.value.message and "2" in refused.value.message


def test_zero_when_allowed():
    assert parse_major("0.00", "CNY", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (80_000_000, "CNY", "800,000.00 CNY"),
        (-5, "KWD", "-0.005 KWD"),
        (1_234_567, "JPY", "1,234,567 JPY"),
        (0, "CNY", "0.00 CNY"),
    ],
)
def test_formatting_for_people(minor, currency, text):
    assert format_minor(minor, currency) == text


@given(
    st.integers(min_value=1, max_value=10**14),
    st.sampled_from(["CNY", "JPY", "KWD", "USD"]),
)
def test_formatted_amounts_parse_back_exactly(minor, currency):
    assert parse_major(format_minor(minor, currency, code=False), currency) == minor


def test_to_minor_rounds_half_up_computed_values():
    assert to_minor(Decimal("1.005"), "CNY") == 101
    assert minor_exponent("kwd") == 3
