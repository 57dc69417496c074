"""Format detection on every fixture, and refusal of a wrong --format or --profile.

Fixtures in ../shared/fixtures/statements/ come from public projects, unchanged: mt940/ from
Cmxl (MIT), jejik/mt940 (MIT) and wolph/mt940 (BSD-3); camt/ from genkgo/camt (MIT); csv_cn/
from deb-sig/double-entry-generator (Apache-2.0). Licences are beside the files.
"""

from __future__ import annotations

import pytest

from cpms.reconciliation.formats import (
    FORMATS,
    StatementUnreadable,
    builtin_profile,
    detect_format,
    parse_statements,
    profile_matches,
)
from tests.reconciliation.fixture_files import statements_dir

FIXTURES = statements_dir()
pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"statement fixtures missing: {FIXTURES}"
)


def fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("mt940/cmxl_mt940.sta", "mt940"),
        ("mt940/jejik_rabobank-iban.sta", "mt940"),
        ("mt940/self-provided_february_30.sta", "mt940"),
        ("camt/genkgo_camt053.v2.multi.statement.xml", "camt053"),
        ("camt/genkgo_camt053.v2.wrong.xml", "camt053"),
        ("csv_cn/boc_debit.csv", "csv"),
        ("csv_cn/cmb_debit.csv", "csv"),
    ],
)
def test_detect_format__fixture(path, expected):
    assert detect_format(fixture(path)) == expected


def test_detect_format__invalid_statement_refused():
    with pytest.raises(StatementUnreadable) as caught:
        detect_format(fixture("mt940/self-provided_invalid_statement.sta"))

    assert caught.value.code == "reconciliation.unreadable"
    assert caught.value.message == (
        "The file is not a recognised bank statement: no MT940 ':20:' field, no CAMT.053 XML "
        "document and no CSV table were found."
    )


def test_detect_format__empty_file_refused():
    with pytest.raises(StatementUnreadable) as caught:
        detect_format(b"  \n")

    assert caught.value.message == "The file is empty."


def test_detect_format__csv_of_unknown_bank_is_csv():
    assert detect_format(b"when,what,how much\n2024-01-01,x,1\n") == "csv"


def test_formats__names():
    assert FORMATS == ("mt940", "camt053", "csv")


@pytest.mark.parametrize(
    ("path", "given", "message"),
    [
        (
            "mt940/cmxl_mt940.sta",
            "camt053",
            "The file is MT940, not CAMT.053: use format mt940 or let the format be detected.",
        ),
        (
            "camt/genkgo_camt053.v2.multi.statement.xml",
            "csv",
            "The file is CAMT.053, not CSV: use format camt053 or let the format be detected.",
        ),
        (
            "csv_cn/boc_debit.csv",
            "mt940",
            "The file is CSV, not MT940: use format csv or let the format be detected.",
        ),
    ],
)
def test_parse_statements__wrong_format_refused(path, given, message):
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture(path), format=given)

    assert caught.value.message == message
    assert caught.value.fields["format"] == given


@pytest.mark.parametrize(
    ("path", "given"),
    [
        ("mt940/cmxl_mt940.sta", "mt940"),
        ("camt/genkgo_camt053.v2.multi.statement.xml", "camt053"),
        ("csv_cn/cmb_debit.csv", "csv"),
    ],
)
def test_parse_statements__right_format_given_equals_detected(path, given):
    assert parse_statements(fixture(path), format=given) == parse_statements(fixture(path))


def test_parse_statements__unknown_format_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("mt940/cmxl_mt940.sta"), format="ofx")

    assert caught.value.message == "Unknown statement format 'ofx' (known: mt940, camt053, csv)."


def test_parse_statements__profile_on_non_csv_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("mt940/cmxl_mt940.sta"), profile="boc")

    assert caught.value.message == "A CSV profile applies to CSV files only; this file is MT940."


def test_parse_statements__csv_without_matching_profile_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(b"when,what,how much\n2024-01-01,x,1\n")

    assert caught.value.message == (
        "No CSV profile matches this file's header; name a profile (built-in: boc, cmb) or "
        "define one for this bank."
    )


def test_parse_statements__unknown_profile_name_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("csv_cn/boc_debit.csv"), profile="icbc")

    assert caught.value.message == "Unknown CSV profile 'icbc' (built-in profiles: boc, cmb)."


def test_parse_statements__invalid_statement_refused_as_camt053():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("mt940/self-provided_invalid_statement.sta"), format="camt053")

    assert caught.value.message == (
        "The file is not well-formed XML (syntax error): line 1, column 0."
    )


def test_parse_statements__invalid_statement_refused_as_csv():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("mt940/self-provided_invalid_statement.sta"), format="csv")

    assert caught.value.message.startswith("No CSV profile matches this file's header")


def test_profile_matches__builtin_profiles_against_fixtures():
    boc, cmb = fixture("csv_cn/boc_debit.csv"), fixture("csv_cn/cmb_debit.csv")

    assert profile_matches(boc, builtin_profile("boc")) is True
    assert profile_matches(boc, builtin_profile("cmb")) is False
    assert profile_matches(cmb, builtin_profile("cmb")) is True
    assert profile_matches(fixture("mt940/cmxl_mt940.sta"), builtin_profile("boc")) is False
