"""Property: random statement lines written as MT940 text parse back to the same values."""

from __future__ import annotations

import datetime
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpms.core.money import minor_exponent
from cpms.reconciliation.formats import parse_statements

CURRENCIES = ("EUR", "CNY", "JPY", "KWD")
TYPES = ("NTRF", "NCHK", "NMSC", "FTRF", "S202", "NCMI")
SIGNS = {"C": 1, "D": -1, "RC": -1, "RD": 1}
REFERENCE = string.ascii_uppercase + string.digits
TEXT = string.ascii_letters + string.digits + " .,-+()"


def swift_amount(minor: int, currency: str, style: int) -> str:
    """Minor units as an MT940 amount; `style` varies how many decimals are written."""
    exponent = minor_exponent(currency)
    whole, fraction = divmod(minor, 10**exponent)
    digits = f"{fraction:0{exponent}d}" if exponent else ""
    if style == 1:
        digits = digits.rstrip("0")
    return f"{whole},{digits}"


@st.composite
def statements(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(min_value=0, max_value=12))
    lines = []
    for _ in range(count):
        value_date = draw(
            st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2079, 12, 1))
        )
        booking_date = value_date + datetime.timedelta(days=draw(st.integers(0, 3)))
        description = draw(
            st.text(alphabet=TEXT, min_size=1, max_size=60)
            .map(str.strip)
            .filter(lambda text: text and not text.startswith("-"))
        )
        lines.append(
            {
                "value_date": value_date,
                "booking_date": booking_date,
                "mark": draw(st.sampled_from(tuple(SIGNS))),
                "minor": draw(st.integers(min_value=0, max_value=10**13)),
                "type": draw(st.sampled_from(TYPES)),
                "reference": draw(
                    st.text(
                        alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=16
                    ).filter(lambda text: text != "NONREF")
                ),
                "bank_reference": draw(st.text(alphabet=REFERENCE, max_size=16)),
                "entry_date": draw(st.booleans()) or booking_date != value_date,
                "description": description,
                "style": draw(st.integers(0, 1)),
            }
        )
    opening = draw(st.integers(min_value=-(10**12), max_value=10**12))
    return currency, opening, lines


def write_mt940(currency: str, opening: int, lines: list[dict]) -> tuple[bytes, int]:
    closing = opening + sum(SIGNS[line["mark"]] * line["minor"] for line in lines)
    out = [":20:PROPERTY", ":25:ACC-1", ":28C:1/1"]
    mark = "C" if opening >= 0 else "D"
    out.append(f":60F:{mark}000101{currency}{swift_amount(abs(opening), currency, 0)}")
    for line in lines:
        entry = line["booking_date"].strftime("%m%d") if line["entry_date"] else ""
        bank = f"//{line['bank_reference']}" if line["bank_reference"] else ""
        out.append(
            f":61:{line['value_date']:%y%m%d}{entry}{line['mark']}"
            f"{swift_amount(line['minor'], currency, line['style'])}{line['type']}"
            f"{line['reference']}{bank}"
        )
        out.append(f":86:{line['description']}")
    mark = "C" if closing >= 0 else "D"
    out.append(f":62F:{mark}991231{currency}{swift_amount(abs(closing), currency, 0)}")
    out.append("-")
    return "\r\n".join(out).encode(), closing


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements())
def test_parse_statements__mt940_round_trip(generated):
    currency, opening, lines = generated
    data, closing = write_mt940(currency, opening, lines)

    (statement,) = parse_statements(data)

    expected = sorted(lines, key=lambda line: line["booking_date"])  # stable, like the parser
    assert statement.currency == currency
    assert (statement.opening_minor, statement.closing_minor) == (opening, closing)
    assert [line.amount_minor for line in statement.lines] == [
        SIGNS[line["mark"]] * line["minor"] for line in expected
    ]
    assert [line.booking_date for line in statement.lines] == [
        line["booking_date"] for line in expected
    ]
    assert [line.value_date for line in statement.lines] == [
        line["value_date"] for line in expected
    ]
    assert [line.reference for line in statement.lines] == [line["reference"] for line in expected]
    assert [line.bank_code for line in statement.lines] == [line["type"] for line in expected]
    assert [line.description for line in statement.lines] == [
        line["description"] for line in expected
    ]
    assert statement.consistent is True


def csv_amount(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 100)
    return f'"{sign}{whole:,}.{fraction:02d}"'


@st.composite
def csv_histories(draw):
    count = draw(st.integers(min_value=1, max_value=15))
    start = draw(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2090, 1, 1)))
    steps = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    if count > 1 and sum(steps[1:]) == 0:
        steps[-1] = 1  # the first and last dates differ, as in any real multi-day export
    dates, day = [], start
    for step in steps:
        day += datetime.timedelta(days=step)
        dates.append(day)
    amounts = draw(
        st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=count, max_size=count)
    )
    opening = draw(st.integers(min_value=-(10**9), max_value=10**9))
    return opening, list(zip(dates, amounts, strict=True)), draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_histories())
def test_parse_statements__csv_round_trip_either_order(generated):
    opening, rows, newest_first = generated
    balances, balance = [], opening
    for _date, amount in rows:
        balance += amount
        balances.append(balance)
    written = [
        f"{date:%Y-%m-%d},CNY,{csv_amount(amount)},{csv_amount(total)},code,,"
        for (date, amount), total in zip(rows, balances, strict=True)
    ]
    if newest_first:
        written.reverse()
    data = (
        "记账日期,货币,交易金额,联机余额,交易摘要,对手信息,客户摘要\n" + "\n".join(written)
    ).encode()

    (statement,) = parse_statements(data, profile="cmb")

    assert [line.amount_minor for line in statement.lines] == [amount for _date, amount in rows]
    assert [line.running_balance_minor for line in statement.lines] == balances
    assert (statement.opening_minor, statement.closing_minor) == (opening, balances[-1])
    assert statement.problems == ()
    assert statement.consistent is True
