"""MT940 parser against real files and hand-written edge cases.

Fixtures in ../shared/fixtures/statements/mt940/ come from public projects, unchanged:
- cmxl_mt940.sta: Cmxl (MIT, LICENSE-cmxl-MIT.txt)
- jejik_rabobank-iban.sta: jejik/mt940 (MIT, LICENSE-jejik-MIT.txt)
- self-provided_*.sta: wolph/mt940 mt940_tests/ (BSD-3, LICENSE-wolph-mt940-BSD3.txt)
"""

from __future__ import annotations

import datetime

import pytest

from cpms.reconciliation.formats import StatementUnreadable, parse_statements
from tests.reconciliation.fixture_files import statements_dir

FIXTURES = statements_dir()
pytestmark = pytest.mark.skipif(
    not (FIXTURES / "mt940").is_dir(), reason=f"statement fixtures missing: {FIXTURES}"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / "mt940" / name).read_bytes()


def test_parse_statements__cmxl_file_has_three_statements():
    statements = parse_statements(fixture("cmxl_mt940.sta"))

    assert [s.format for s in statements] == ["mt940", "mt940", "mt940"]
    assert [s.statement_id for s in statements] == [
        "131110/27/01",
        "1234567/5/1",
        "TELEWIZORY S.A./00084/001",
    ]
    assert [s.account for s in statements] == [
        "45050050/76198810",
        "10020030/1234567",
        "BPHKPLPK/320000546101",
    ]
    assert [s.currency for s in statements] == ["DEM", "EUR", "PLN"]
    assert [len(s.lines) for s in statements] == [11, 2, 3]
    assert [(s.opening_minor, s.closing_minor) for s in statements] == [
        (8434974, 8443704),
        (218795, 438795),
        (4000000, 5004000),
    ]
    assert [(s.opening_date, s.closing_date) for s in statements] == [
        (datetime.date(2013, 10, 16), datetime.date(2013, 10, 17)),
        (datetime.date(2002, 11, 1), datetime.date(2002, 11, 30)),
        (datetime.date(2003, 10, 2), datetime.date(2002, 3, 25)),
    ]
    assert [s.entries_total_minor for s in statements] == [8730, 220000, 1004000]
    assert [s.consistent for s in statements] == [True, True, True]
    assert [s.problems for s in statements] == [(), (), ()]


def test_parse_statements__cmxl_first_statement_lines_in_date_order():
    statement = parse_statements(fixture("cmxl_mt940.sta"))[0]

    assert [line.index for line in statement.lines] == list(range(11))
    dates = [line.booking_date for line in statement.lines]
    assert dates == sorted(dates)
    first, last = statement.lines[0], statement.lines[-1]
    assert first.booking_date == datetime.date(2013, 10, 15)
    assert first.value_date == datetime.date(2013, 10, 15)
    assert first.amount_minor == -1422000
    assert first.currency == "DEM"
    assert first.bank_code == "NBOE"
    assert first.description == "999PN0920WECHSEL"
    assert last.booking_date == datetime.date(2013, 10, 27)
    assert last.amount_minor == -586214
    assert last.bank_code == "NCHK"
    # same date keeps the file order: the 6800,00 cheque is the first line dated 17 October
    assert statement.lines[1].amount_minor == -680000
    assert statement.lines[1].reference == "16703074"
    assert statement.lines[2].amount_minor == -62030  # "620,3" is 620.30


def test_parse_statements__cmxl_structured_narrative_and_entry_date():
    statement = parse_statements(fixture("cmxl_mt940.sta"))[1]

    rent, salary = statement.lines
    assert rent.value_date == datetime.date(2002, 11, 1)
    assert rent.booking_date == datetime.date(2002, 11, 2)  # entry date 1102
    assert rent.amount_minor == -80000
    assert rent.reference == "55555"
    assert rent.description == "Miete November"
    assert rent.counterparty == "MUELLER"
    assert rent.counterparty_account == "234567"
    assert rent.bank_code == "NSTO"
    assert salary.amount_minor == 300000
    assert salary.description == "Gehalt OktoberFirmaMustermannGmbH"
    assert salary.counterparty_account == "0847564700"


def test_parse_statements__cmxl_polish_statement_iban_and_bank_reference():
    statement = parse_statements(fixture("cmxl_mt940.sta"))[2]

    first, second, last = statement.lines
    assert first.amount_minor == 2000000
    assert first.reference == "8327000090031789"
    assert first.counterparty_account == "PL08106000760000777777777777"
    assert first.counterparty == "HUTA SZKLA TOPIC ULPRZEMYSLOWA 67 32-669 WROCLAW"
    assert first.bank_code == "FMSC"
    assert second.amount_minor == -1000000
    assert second.reference == "REF 25611247"
    assert last.amount_minor == 4000
    assert last.description == "Odsetki od lokaty nr 101000022086"


def test_parse_statements__rabobank_two_statements_chain():
    first, second = parse_statements(fixture("jejik_rabobank-iban.sta"))

    assert (first.statement_id, second.statement_id) == ("940S130101/0", "940S130101/0")
    assert first.account == second.account == "NL71RABO0123456789"
    assert (first.opening_minor, first.closing_minor) == (100000, 96500)
    assert (second.opening_minor, second.closing_minor) == (96500, 93000)
    assert first.consistent and second.consistent
    line = first.lines[0]
    assert line.booking_date == datetime.date(2013, 1, 1)
    assert line.amount_minor == -2500
    assert line.reference == "01-01-2013 12:00 0030000987654321"
    assert line.counterparty == "CONTRA ACCOUNT HOLDER"
    assert line.counterparty_account == "NL70ABNA0987654321"
    assert line.bank_code == "N102"
    last = second.lines[-1]
    assert last.booking_date == datetime.date(2013, 1, 9)
    assert last.amount_minor == -1000
    assert last.reference == ""
    assert last.description == "Reference 201301234"
    assert last.counterparty == "JOHN DOE"
    assert last.counterparty_account == "P001234567"


def test_parse_statements__february_30_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("self-provided_february_30.sta"))

    assert caught.value.code == "reconciliation.unreadable"
    assert caught.value.message == "line 6: 30 February is not a date."
    assert caught.value.fields["line"] == 6


def test_parse_statements__february_29_of_the_same_file_parses():
    data = fixture("self-provided_february_30.sta").replace(b":61:160230", b":61:160229")

    (statement,) = parse_statements(data)

    assert statement.statement_id == "STARTUMSE/00000/001"
    assert statement.account == "12345678/1020304050"
    assert (statement.opening_minor, statement.closing_minor) == (120000, 119400)
    (line,) = statement.lines
    assert line.value_date == datetime.date(2016, 2, 29)
    assert line.booking_date == datetime.date(2016, 3, 1)
    assert line.amount_minor == -600
    assert line.description == "Pauschalen"
    assert line.counterparty_account == ""  # ?30 is a bank code, ?11 is not an account
    assert statement.consistent


def test_parse_statements__invalid_statement_refused_as_mt940():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("self-provided_invalid_statement.sta"), format="mt940")

    assert caught.value.message == "line 1: expected an MT940 field such as ':20:' but found '1'."
    assert caught.value.fields["line"] == 1


def test_parse_statements__invalid_statement_refused_when_detecting():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("self-provided_invalid_statement.sta"))

    assert caught.value.message.startswith("The file is not a recognised bank statement")


STATEMENT = """:20:REF1
:25:ACCOUNT-1
:28C:1/1
:60F:C231231CNY100,00
{lines}
:62F:{closing}
-
"""


def _statement(lines: str, closing: str) -> bytes:
    return STATEMENT.format(lines=lines, closing=closing).encode()


def test_parse_statements__reversal_marks_and_year_rollover():
    data = _statement(
        ":61:2312310102RC10,00NTRFA1//B1\n:86:reversal of a credit\n"
        ":61:231231RD2,50NTRFNONREF//B2\n",
        "C240102CNY92,50",
    )

    (statement,) = parse_statements(data)

    first, second = sorted(statement.lines, key=lambda line: line.amount_minor)
    assert first.amount_minor == -1000
    assert first.booking_date == datetime.date(2024, 1, 2)
    assert first.value_date == datetime.date(2023, 12, 31)
    assert first.reference == "A1"
    assert first.description == "reversal of a credit"
    assert second.amount_minor == 250
    assert second.reference == "B2"
    assert statement.consistent


def test_parse_statements__swift_envelope_and_debit_opening():
    data = (
        b"{1:F01BANKDEFFAXXX0000000000}{2:O9401200240101BANKDEFFAXXX00000000002401011200N}{4:\r\n"
        b":20:ENV\r\n:25:DE89370400440532013000\r\n:28C:7\r\n:60F:D240101EUR5,00\r\n"
        b":61:240102C15,00NTRFNONREF\r\n:62F:C240102EUR10,00\r\n-}"
    )

    (statement,) = parse_statements(data)

    assert statement.statement_id == "ENV/7"
    assert statement.opening_minor == -500
    assert statement.closing_minor == 1000
    assert statement.lines[0].amount_minor == 1500
    assert statement.lines[0].reference == ""
    assert statement.consistent


def test_parse_statements__unbalanced_statement_flagged():
    data = _statement(":61:240105D30,00NTRFINV-7\n", "C240105CNY80,00")

    (statement,) = parse_statements(data)

    assert statement.consistent is False
    assert statement.problems == (
        "Opening balance 100.00 + entries -30.00 = 70.00, but the closing balance is 80.00 "
        "(difference 10.00 CNY).",
    )


def test_parse_statements__missing_closing_balance_refused():
    data = b":20:REF1\n:25:ACCOUNT-1\n:60F:C231231CNY100,00\n-\n"

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, format="mt940")

    assert caught.value.message == ("statement 1 (:20:REF1, line 1): the field :62F: is missing.")


def test_parse_statements__amount_with_too_many_decimals_refused():
    data = _statement(":61:240105D30,001NTRFX\n", "C240105CNY70,00")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data)

    assert caught.value.message == "line 5: amount 30.001 has more decimals than CNY allows (2)."
    assert caught.value.fields["line"] == 5


def test_parse_statements__malformed_statement_line_refused():
    data = _statement(":61:240105X30,00NTRFX\n", "C240105CNY70,00")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data)

    assert caught.value.message.startswith(
        "line 5: statement line ':61:240105X30,00NTRFX' not understood"
    )


def test_parse_statements__month_13_refused():
    data = _statement(":61:241305D30,00NTRFX\n", "C240105CNY70,00")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data)

    assert caught.value.message == "line 5: '241305' is not a date (month 13 does not exist)."
