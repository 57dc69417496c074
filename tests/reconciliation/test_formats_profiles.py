"""CSV profiles: plain-dict round trip (stored as JSON by the app) and validation messages."""

from __future__ import annotations

import json

import pytest

from cpms.reconciliation.formats import (
    BUILTIN_PROFILES,
    CsvProfile,
    InvalidProfile,
    StatementUnreadable,
    builtin_profile,
)

VALID = {
    "name": "my-bank",
    "label": "My bank",
    "header_contains": ["Date", "Out", "In"],
    "date_column": "Date",
    "date_formats": ["%d.%m.%Y"],
    "debit_column": "Out",
    "credit_column": "In",
    "currency_aliases": {"Yuan": "CNY"},
    "description_columns": ["Text"],
}


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_to_dict__builtin_profile_round_trips_through_json(name):
    profile = builtin_profile(name)

    data = json.loads(json.dumps(profile.to_dict(), ensure_ascii=False))

    assert CsvProfile.from_dict(data) == profile
    assert data["name"] == name


def test_from_dict__user_profile_defaults_and_round_trip():
    profile = CsvProfile.from_dict(VALID)

    assert profile.encodings == ("utf-8-sig", "gb18030")
    assert profile.delimiter == ","
    assert profile.header_contains == ("Date", "Out", "In")
    assert profile.amount_column is None
    assert profile.default_currency == "CNY"
    assert profile.currency_for("Yuan") == "CNY"
    assert profile.currency_for("人民币") == "CNY"
    assert profile.currency_for("usd") == "USD"
    assert profile.currency_for("金币") is None
    assert CsvProfile.from_dict(profile.to_dict()) == profile
    assert profile.to_dict() == {
        "name": "my-bank",
        "label": "My bank",
        "header_contains": ["Date", "Out", "In"],
        "date_column": "Date",
        "encodings": ["utf-8-sig", "gb18030"],
        "delimiter": ",",
        "date_formats": ["%d.%m.%Y"],
        "amount_column": None,
        "debit_column": "Out",
        "credit_column": "In",
        "currency_column": None,
        "default_currency": "CNY",
        "currency_aliases": {"Yuan": "CNY"},
        "balance_column": None,
        "reference_columns": [],
        "description_columns": ["Text"],
        "counterparty_columns": [],
        "counterparty_account_columns": [],
        "bank_code_column": None,
        "account_column": None,
        "decimal_comma": False,
        "direction_column": None,
        "direction_in": [],
        "direction_out": [],
        "skip_rows": {},
        "footer_markers": [],
    }


def test_from_dict__every_bad_field_named():
    data = {
        **VALID,
        "name": "My Bank!",
        "delimiter": ";;",
        "encodings": ["klingon"],
        "amount_column": "Amount",
        "default_currency": "rmb",
        "date_formats": ["%d.%m"],
        "currency_aliases": {"Yuan": "yuan"},
    }

    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict(data)

    assert caught.value.code == "reconciliation.invalid_profile"
    assert caught.value.fields == {
        "name": "Use 1 to 40 lower-case letters, digits, '-' or '_', starting with a letter or "
        "digit.",
        "encodings": "'klingon' is not a known encoding.",
        "delimiter": "Use exactly one character such as ',', ';' or a tab.",
        "date_formats": "'%d.%m' is not a date format with year, month and day (e.g. %Y-%m-%d).",
        "amount_column": "Give either a signed amount column or debit and credit columns, not "
        "both.",
        "default_currency": "Use a three-letter ISO 4217 code such as CNY.",
        "currency_aliases": "'Yuan' -> 'yuan': each alias must map to a three-letter ISO 4217 "
        "code.",
    }
    assert caught.value.message.startswith("The CSV profile is not valid: name: Use 1 to 40")


def test_from_dict__missing_unknown_and_mistyped_fields_named():
    data = {"name": "x", "label": "X", "header_contains": "Date", "colour": "red"}

    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict(data)

    assert caught.value.fields == {
        "header_contains": "Input should be a valid list",
        "date_column": "This field is required.",
        "colour": "'colour' is not a profile field.",
    }


def test_from_dict__one_of_debit_credit_missing():
    data = {**VALID, "credit_column": None}

    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict(data)

    assert caught.value.fields == {"credit_column": "Give both the debit and the credit column."}


def test_from_dict__no_amount_layout():
    data = {**VALID, "debit_column": None, "credit_column": None}

    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict(data)

    assert caught.value.fields == {
        "amount_column": "Give a signed amount column, or debit and credit columns."
    }


def test_from_dict__not_an_object():
    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict(["boc"])

    assert caught.value.message == "A CSV profile must be an object of named fields."


def test_csv_profile__direct_construction_is_validated_too():
    with pytest.raises(InvalidProfile) as caught:
        CsvProfile(name="x", label="X", header_contains=("a",), date_column="a")

    assert set(caught.value.fields) == {"amount_column"}


def test_builtin_profile__unknown_name_refused():
    with pytest.raises(StatementUnreadable) as caught:
        builtin_profile("icbc")

    assert caught.value.message == "Unknown CSV profile 'icbc' (built-in profiles: boc, cmb)."
    assert caught.value.fields == {"profile": caught.value.message}
