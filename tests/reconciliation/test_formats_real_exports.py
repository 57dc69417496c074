"""Statement files as banks and wallets really send them (issue 10 item 12).

The files in tests/reconciliation/files/ are invented: SOH/ETX-wrapped MT940 with an ABN-style
header (BIC, 940, BIC) before each message and amounts without a decimal comma, an ING-style
'0000 01<BIC>…940 00' header record, an MT942 interim report, an OFX file, and Alipay-, WeChat-
and ICBC-style CSV exports (GB18030 or UTF-8 with BOM, preamble lines, a direction column,
rows that are neither money in nor out, a footer, and no balance column).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from cpms.reconciliation.formats import (
    CsvProfile,
    InvalidProfile,
    StatementUnreadable,
    detect_format,
    parse_statements,
    profile_matches,
)

FILES = Path(__file__).parent / "files"
D = datetime.date


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


# ------------------------------------------------------------------------------------ MT940


def test_mt940__soh_etx_wrapped_with_bank_header_lines_and_amounts_without_comma():
    data = read("abn_soh_etx.sta")
    assert detect_format(data) == "mt940"

    first, second = parse_statements(data)

    assert (first.statement_id, first.account, first.currency) == (
        "ABN AMRO BANK NV/19321/1",
        "123456789",
        "EUR",
    )
    assert [line.amount_minor for line in first.lines] == [50000, -2550]
    assert (first.opening_minor, first.closing_minor, first.consistent) == (100000, 147450, True)
    assert [line.amount_minor for line in second.lines] == [100000]
    assert (second.closing_minor, second.consistent) == (247450, True)
    assert second.lines[0].reference == "INV-2"


def test_mt940__ing_header_record_before_each_message():
    first, second = parse_statements(read("ing_header.sta"))

    assert first.account == "NL20INGB0001234567EUR"
    assert first.statement_id == "P250301000000001/00001"
    assert [line.amount_minor for line in first.lines] == [5000]
    assert [line.amount_minor for line in second.lines] == [-2000]
    assert first.consistent and second.consistent


def test_mt940__control_character_in_a_message_is_shown_visibly():
    data = b":20:X\r\n:25:1\r\n\x02garbage\r\n"
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(b"\x05" + data, format="mt940")
    message = caught.value.message
    assert message == "line 1: expected an MT940 field such as ':20:' but found '\\x05:20:X'."
    assert "\x05" not in message


def test_mt940__mt942_is_refused_as_not_a_statement():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(read("interim.942"))
    assert caught.value.message == (
        "line 2: the file is an MT942 interim transaction report, not an MT940 statement: it has "
        "no opening and closing balance, so it cannot be reconciled. Import the MT940 "
        "end-of-day statement instead."
    )
    assert caught.value.fields["format"] == "mt942"


def test_mt940__mt942_without_header_is_recognised_by_its_fields():
    data = b":20:X\r\n:25:1\r\n:28C:1\r\n:34F:EURD0,\r\n:13D:2501131200+0100\r\n-\r\n"
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data)
    assert "is an MT942 interim transaction report" in caught.value.message
    assert caught.value.message.startswith("line 4: ")


def test_mt940__currency_change_gives_no_sum_mixing_two_currencies():
    data = (
        b":20:S\r\n:25:1\r\n:60F:C250101EUR100,00\r\n:61:250102C5,00NTRFX\r\n"
        b":62F:C250102USD105,00\r\n-\r\n"
    )
    (statement,) = parse_statements(data)
    assert statement.consistent is False
    assert statement.problems == (
        "statement 1 (:20:S, line 1): the opening balance is in EUR but the closing balance in "
        "USD.",
    )
    assert statement.balance_check == "does_not_add_up"


# ------------------------------------------------------------------------------------ OFX


def test_ofx__refused_by_name():
    for data in (
        read("bank.ofx"),
        b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n'
        b"<OFX><SIGNONMSGSRSV1/></OFX>",
    ):
        with pytest.raises(StatementUnreadable) as caught:
            parse_statements(data)
        assert caught.value.message == (
            "The file is OFX (Open Financial Exchange); OFX is not supported. Export the "
            "statement as MT940, CAMT.053 or CSV."
        )
        assert caught.value.fields["format"] == "ofx"
        with pytest.raises(StatementUnreadable) as insisted:
            parse_statements(data, format="csv")
        assert insisted.value.message == caught.value.message


# ------------------------------------------------------------------------------------ CSV

ALIPAY = {
    "name": "alipay",
    "label": "支付宝账单",
    "header_contains": ["交易时间", "收/支", "金额", "交易状态"],
    "date_column": "交易时间",
    "amount_column": "金额",
    "direction_column": "收/支",
    "direction_in": ["收入"],
    "direction_out": ["支出"],
    "skip_rows": {"收/支": ["不计收支"], "交易状态": ["交易关闭"]},
    "footer_markers": ["------"],
    "reference_columns": ["交易订单号"],
    "description_columns": ["商品说明"],
    "counterparty_columns": ["交易对方"],
    "counterparty_account_columns": ["对方账号"],
    "bank_code_column": "交易分类",
}
WECHAT = {
    "name": "wechat",
    "label": "微信支付账单",
    "header_contains": ["交易时间", "收/支", "金额(元)"],
    "date_column": "交易时间",
    "amount_column": "金额(元)",
    "direction_column": "收/支",
    "direction_in": ["收入"],
    "direction_out": ["支出"],
    "skip_rows": {"收/支": ["/", "中性交易"]},
    "reference_columns": ["交易单号"],
    "counterparty_columns": ["交易对方"],
    "bank_code_column": "交易类型",
}
ICBC = {
    "name": "icbc",
    "label": "工商银行明细",
    "header_contains": ["交易日期", "借贷标志", "发生额"],
    "date_column": "交易日期",
    "amount_column": "发生额",
    "direction_column": "借贷标志",
    "direction_in": ["贷"],
    "direction_out": ["借"],
    "balance_column": "余额",
    "currency_column": "币种",
    "footer_markers": ["合计"],
    "description_columns": ["摘要"],
    "counterparty_columns": ["对方户名"],
}


def test_csv__alipay_style_direction_column_skip_rules_footer_and_no_balance():
    data = read("alipay_like.csv")
    profile = CsvProfile.from_dict(ALIPAY)
    assert profile_matches(data, profile)

    (statement,) = parse_statements(data, profile=profile)

    assert [(line.booking_date, line.amount_minor) for line in statement.lines] == [
        (D(2025, 3, 1), 50000),
        (D(2025, 3, 5), -5000),
        (D(2025, 3, 20), 100000),
        (D(2025, 3, 31), -3850),
    ]
    assert statement.lines[-1].reference == "2025033122001"
    assert statement.lines[-1].counterparty == "某某餐厅"
    assert (statement.opening_minor, statement.closing_minor) == (None, None)
    assert statement.problems == ()
    assert statement.balance_check == "not_checkable"
    assert statement.consistent is False
    assert statement.statement_id == "alipay:2025-03-01..2025-03-31"


def test_csv__wechat_style_bom_currency_sign_and_neutral_rows():
    (statement,) = parse_statements(read("wechat_like.csv"), profile=CsvProfile.from_dict(WECHAT))

    assert [(line.booking_date, line.amount_minor) for line in statement.lines] == [
        (D(2025, 4, 2), -1200),
        (D(2025, 4, 10), 20000),
    ]
    assert statement.balance_check == "not_checkable"
    assert statement.entries_total_minor == 18800


def test_csv__icbc_style_direction_balance_and_total_row():
    (statement,) = parse_statements(read("icbc_like.csv"), profile=CsvProfile.from_dict(ICBC))

    assert [line.amount_minor for line in statement.lines] == [800000, -20000, -130000]
    assert (statement.opening_minor, statement.closing_minor) == (100000, 750000)
    assert statement.currency == "CNY"
    assert statement.balance_check == "adds_up"
    assert statement.consistent is True


def test_csv__direction_value_not_in_the_profile_is_refused_with_row_and_column():
    profile = CsvProfile.from_dict({**WECHAT, "skip_rows": {"收/支": ["/"]}})
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(read("wechat_like.csv"), profile=profile)
    assert caught.value.message == (
        "row 19: '中性交易' in column 收/支 is neither money in (收入) nor money out (支出): "
        "add it to the profile's direction values or skip rules."
    )
    assert caught.value.fields["line"] == 19


def test_csv__without_footer_marker_the_total_row_is_refused_by_row():
    profile = CsvProfile.from_dict({**ICBC, "footer_markers": []})
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(read("icbc_like.csv"), profile=profile)
    assert caught.value.message.startswith("row 8: '合计' in column 交易日期 is not a date")


def test_profile__direction_fields_validated():
    with pytest.raises(InvalidProfile) as caught:
        CsvProfile.from_dict({**WECHAT, "direction_in": []})
    assert caught.value.fields == {
        "direction_in": "Give the values of the direction column that mean money in and money out."
    }
    with pytest.raises(InvalidProfile) as both:
        CsvProfile.from_dict({**WECHAT, "direction_out": ["收入"]})
    assert both.value.fields == {
        "direction_out": "'收入' is both a money-in and a money-out value."
    }
    with pytest.raises(InvalidProfile) as two_columns:
        CsvProfile.from_dict(
            {**WECHAT, "amount_column": None, "debit_column": "a", "credit_column": "b"}
        )
    assert two_columns.value.fields == {
        "direction_column": "A direction column needs an unsigned amount column, not debit "
        "and credit columns."
    }
    with pytest.raises(InvalidProfile) as orphan:
        CsvProfile.from_dict({**ICBC, "direction_column": None})
    assert orphan.value.fields == {
        "direction_column": "Direction values are given, but no direction column."
    }


def test_profile__round_trip_keeps_the_new_fields():
    profile = CsvProfile.from_dict(ALIPAY)
    again = CsvProfile.from_dict(profile.to_dict())
    assert again == profile
    assert again.to_dict()["skip_rows"] == {"收/支": ["不计收支"], "交易状态": ["交易关闭"]}
    assert ("skip_rows", "交易状态") in profile.columns()
