"""CSV statements through column-mapping profiles.

boc_debit.csv and cmb_debit.csv in ../shared/fixtures/statements/csv_cn/ come from
deb-sig/double-entry-generator example/, unchanged (Apache-2.0,
LICENSE-double-entry-generator-Apache2.txt).
"""

from __future__ import annotations

import datetime

import pytest

from cpms.reconciliation.formats import (
    CsvProfile,
    StatementUnreadable,
    builtin_profile,
    parse_statements,
)
from tests.reconciliation.fixture_files import statements_dir

FIXTURES = statements_dir()
pytestmark = pytest.mark.skipif(
    not (FIXTURES / "csv_cn").is_dir(), reason=f"statement fixtures missing: {FIXTURES}"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / "csv_cn" / name).read_bytes()


def test_parse_statements__boc_export_newest_first_is_put_in_order_and_adds_up():
    (statement,) = parse_statements(fixture("boc_debit.csv"))

    assert statement.format == "csv"
    assert statement.profile == "boc"
    assert statement.statement_id == "boc:2025-08-01..2025-08-22"
    assert statement.account == "3167"
    assert statement.currency == "CNY"
    assert len(statement.lines) == 17
    # by hand: the oldest row (2025-08-01 08:57:00) is +1,000.00 leaving 3,813.58,
    # so the opening balance is 2,813.58; the newest row leaves 3,240.28
    assert (statement.opening_minor, statement.opening_date) == (281358, datetime.date(2025, 8, 1))
    assert (statement.closing_minor, statement.closing_date) == (324028, datetime.date(2025, 8, 22))
    assert statement.entries_total_minor == 42670  # 2,813.58 + 426.70 = 3,240.28
    assert statement.problems == ()
    assert statement.consistent is True
    assert [line.index for line in statement.lines] == list(range(17))
    first, last = statement.lines[0], statement.lines[-1]
    assert first.booking_date == datetime.date(2025, 8, 1)
    assert first.value_date is None
    assert first.amount_minor == 100000
    assert first.running_balance_minor == 381358
    assert first.bank_code == "银联入账"
    assert first.description == "转账"
    assert first.counterparty == "张三"
    assert first.counterparty_account == "6222******0258"
    assert first.reference == ""
    assert statement.lines[1].amount_minor == -300000  # 08:57:22, after 08:57:00
    assert statement.lines[1].description == ""  # "----------" means no value
    assert last.booking_date == datetime.date(2025, 8, 22)
    assert last.amount_minor == -7189
    assert last.running_balance_minor == 324028
    assert last.bank_code == "无卡支付"
    running = statement.opening_minor
    for line in statement.lines:
        running += line.amount_minor
        assert line.running_balance_minor == running


def test_parse_statements__boc_export_in_gb18030_parses_the_same():
    utf8 = fixture("boc_debit.csv")
    gb18030 = utf8.decode("utf-8").encode("gb18030")
    assert gb18030 != utf8

    assert parse_statements(gb18030) == parse_statements(utf8)
    assert parse_statements(gb18030, format="csv", profile="boc") == parse_statements(utf8)


def test_parse_statements__cmb_export_balances_do_not_chain():
    (statement,) = parse_statements(fixture("cmb_debit.csv"))

    assert statement.profile == "cmb"
    assert statement.account == ""
    assert statement.currency == "CNY"
    assert len(statement.lines) == 5
    assert [line.booking_date.isoformat() for line in statement.lines] == [
        "2024-01-01",
        "2024-01-01",
        "2024-01-20",
        "2024-01-23",
        "2024-01-27",
    ]
    assert [line.amount_minor for line in statement.lines] == [
        123400,
        -100000,
        -100000,
        -1014,
        -300,
    ]
    assert statement.opening_minor == 3766  # 1,271.66 - 1,234.00
    assert statement.closing_minor == 8122
    assert statement.consistent is False
    assert statement.problems == (
        "row 5 (2024-01-20): balance 123.45, expected 271.66 - 1,000.00 = -728.34.",
        "row 6 (2024-01-23): balance 1,218.24, expected 123.45 - 10.14 = 113.31.",
        "row 4 (2024-01-27): balance 81.22, expected 1,218.24 - 3.00 = 1,215.24.",
        "Opening balance 37.66 + entries -779.14 = -741.48, but the closing balance is 81.22 "
        "(difference 822.70 CNY).",
    )
    first = statement.lines[0]
    assert first.bank_code == "代发住房公积金"
    assert first.counterparty == "北京住房公积金管理中心1111111111"
    assert first.description == "01月01日约定提取"


DEBIT_CREDIT = CsvProfile(
    name="ledger-bank",
    label="A two-column export",
    header_contains=("Date", "Debit", "Credit"),
    date_column="Date",
    date_formats=("%d/%m/%Y",),
    debit_column="Debit",
    credit_column="Credit",
    balance_column="Balance",
    default_currency="USD",
    delimiter=";",
    encodings=("utf-8",),
    reference_columns=("Ref",),
    description_columns=("Memo", "Note"),
    counterparty_columns=("Payee",),
    account_column="Account",
)
DEBIT_CREDIT_CSV = """Statement export
Account holder: ACME;;;
Date;Ref;Memo;Note;Payee;Debit;Credit;Balance;Account
02/01/2024;R1;Opening deposit;;Alice;;"1,000.00";1000.00;US-1
03/01/2024;R2;Rent;January;Landlord;250.50;;749.50;US-1

05/01/2024;;Fee;;Bank;0.50;;749.00;US-1
"""


def test_parse_statements__user_profile_with_debit_and_credit_columns():
    (statement,) = parse_statements(DEBIT_CREDIT_CSV.encode(), profile=DEBIT_CREDIT)

    assert statement.profile == "ledger-bank"
    assert statement.account == "US-1"
    assert statement.currency == "USD"
    assert [line.amount_minor for line in statement.lines] == [100000, -25050, -50]
    assert [line.booking_date.day for line in statement.lines] == [2, 3, 5]
    assert (statement.opening_minor, statement.closing_minor) == (0, 74900)
    assert statement.consistent is True
    rent = statement.lines[1]
    assert rent.reference == "R2"
    assert rent.description == "Rent January"
    assert rent.counterparty == "Landlord"
    assert rent.running_balance_minor == 74950


CMB_HEADER = "记账日期,交易金额,联机余额,交易摘要,货币,对手信息,客户摘要\n"


def test_parse_statements__same_day_descending_rows_ordered_by_balances():
    data = (CMB_HEADER + "2024-03-01,-5.00,90.00,b,人民币\n2024-03-01,-5.00,95.00,a,RMB\n").encode()

    (statement,) = parse_statements(data, profile="cmb")

    assert [line.bank_code for line in statement.lines] == ["a", "b"]
    assert (statement.opening_minor, statement.closing_minor) == (10000, 9000)
    assert statement.consistent is True


def test_parse_statements__one_statement_per_currency():
    data = (
        CMB_HEADER + "2024-03-01,10.00,10.00,a,人民币\n"
        "2024-03-01,5,5,b,美元\n"
        "2024-03-02,1.00,11.00,c,CNY\n"
    ).encode()

    cny, usd = parse_statements(data, profile="cmb")

    assert (cny.currency, len(cny.lines), cny.closing_minor) == ("CNY", 2, 1100)
    assert (usd.currency, len(usd.lines), usd.closing_minor) == ("USD", 1, 500)
    assert cny.consistent and usd.consistent


def test_parse_statements__without_balance_column_balances_unknown():
    profile = CsvProfile(
        name="plain",
        label="Plain",
        header_contains=("date", "amount"),
        date_column="date",
        amount_column="amount",
    )

    (statement,) = parse_statements(
        b"date,amount\n2024-01-02,1.5\n2024-01-01,-1\n", profile=profile
    )

    assert [line.amount_minor for line in statement.lines] == [-100, 150]
    assert (statement.opening_minor, statement.closing_minor) == (None, None)
    assert (statement.opening_date, statement.closing_date) == (None, None)
    assert statement.currency == "CNY"
    assert statement.consistent is False
    assert statement.problems == ()


def test_parse_statements__csv_bad_date_refused_with_row():
    data = (CMB_HEADER + "2024-02-30,1.00,1.00,a,CNY\n").encode()

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, profile="cmb")

    assert caught.value.message == (
        "row 2: '2024-02-30' in column 记账日期 is not a date "
        "(expected %Y-%m-%d, %Y/%m/%d, %Y%m%d)."
    )
    assert caught.value.fields["line"] == 2


def test_parse_statements__csv_bad_amount_refused_with_row():
    data = (CMB_HEADER + "2024-02-01,abc,1.00,a,CNY\n").encode()

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, profile="cmb")

    assert caught.value.message == "row 2, column 交易金额: 'abc' is not an amount."


def test_parse_statements__csv_unknown_currency_refused():
    data = (CMB_HEADER + "2024-02-01,1.00,1.00,a,金币\n").encode()

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, profile="cmb")

    assert caught.value.message == (
        "row 2: '金币' in column 货币 is not a known currency (add it to the profile's currency "
        "aliases)."
    )


def test_parse_statements__csv_missing_profile_column_refused():
    data = (
        "记账日期,交易金额,联机余额,交易摘要,对手信息,客户摘要\n2024-02-01,1.00,1.00,a,,\n".encode()
    )

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, profile="cmb")

    assert caught.value.message == (
        "Column '货币' (currency_column of profile 'cmb') is not in the header (row 1)."
    )


def test_parse_statements__csv_header_without_rows_refused():
    data = CMB_HEADER.encode()

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, format="csv", profile="cmb")

    assert caught.value.message == "The file has a header (row 1) but no rows."


def test_parse_statements__csv_profile_that_does_not_fit_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("boc_debit.csv"), profile=builtin_profile("cmb"))

    assert caught.value.message == (
        "No header row with the columns 记账日期, 交易金额, 联机余额, 交易摘要 "
        "in the first 50 rows (profile 'cmb')."
    )


def test_parse_statements__csv_sub_cent_amount_refused():
    data = (CMB_HEADER + "2024-02-01,1.005,1.005,a,CNY\n").encode()

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data, profile="cmb")

    assert caught.value.message == "row 2: amount 1.005 has more decimals than CNY allows (2)."


def test_parse_statements__large_export_detected_by_its_header():
    title, header, *rows = fixture("boc_debit.csv").decode("utf-8").splitlines()
    data = "\n".join([title, header, *(rows * 40)]).encode("utf-8")  # about 130 kB
    assert len(data) > 65536

    (statement,) = parse_statements(data)

    assert statement.profile == "boc"
    assert len(statement.lines) == 17 * 40
    assert statement.consistent is False  # the repeated rows do not chain


def test_parse_statements__decimal_comma_profile():
    profile = CsvProfile(
        name="eu-bank",
        label="Decimal comma",
        header_contains=("Datum", "Betrag"),
        date_column="Datum",
        date_formats=("%d.%m.%Y",),
        amount_column="Betrag",
        balance_column="Saldo",
        default_currency="EUR",
        delimiter=";",
        decimal_comma=True,
    )
    data = "Datum;Betrag;Saldo\n01.02.2024;-1.234,56;8.765,44\n02.02.2024;0,56;8.766,00\n"

    (statement,) = parse_statements(data.encode(), profile=profile)

    assert [line.amount_minor for line in statement.lines] == [-123456, 56]
    assert (statement.opening_minor, statement.closing_minor) == (1000000, 876600)
    assert statement.consistent is True


def test_parse_statements__user_profile_with_unusual_delimiter_detected_as_csv():
    profile = CsvProfile(
        name="pipes",
        label="Pipe separated",
        header_contains=("date", "amount"),
        date_column="date",
        amount_column="amount",
        delimiter="|",
    )

    (statement,) = parse_statements(b"date|amount\n2024-01-02|3.00\n", profile=profile)

    assert [line.amount_minor for line in statement.lines] == [300]
    assert statement.profile == "pipes"
