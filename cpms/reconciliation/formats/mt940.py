"""SWIFT MT940 customer statements, parsed by hand for exact amounts and precise errors.

A file holds one or more statements. Each starts with `:20:` and ends with a `-` line (or the
next `:20:`). Fields: `:25:` account, `:28C:` statement number, `:60F:`/`:60M:` opening balance,
`:61:` statement lines each followed by an optional `:86:` narrative, `:62F:`/`:62M:` closing
balance. A field's value continues on the following lines until the next `:TAG:` line. SWIFT
envelope blocks (`{1:...}{2:...}{4:` ... `-}`), SOH/ETX transmission bytes around each message
and bank header lines before a message (`ABNANL2A` + `940`, `0000 01INGBNL2A...940 00`) are
skipped. An MT942 interim report is refused as not a statement.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from .base import (
    ParsedStatement,
    StatementLine,
    StatementUnreadable,
    chronological,
    decimal_to_minor,
    finish_statement,
    make_date,
    unreadable,
    visible,
    yymmdd,
)

FORMAT = "mt940"

_TAG = re.compile(r"^:(?P<tag>[0-9]{2,3}[A-Z]?|NS):(?P<value>.*)$")
# amounts: digits with a decimal comma ("1234,56", "6800,"), or without one ("500")
_BALANCE = re.compile(
    r"^(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d+(?:,\d*)?)$"
)
_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d+(?:,\d*)?)(?P<type>[NFS][A-Z0-9]{3})(?P<rest>.*)$"
)
# transmission bytes that wrap each message: SOH (start of header) ... ETX (end of text)
_TRANSMISSION = re.compile(r"[\x01\x03]")
# bank header lines before a message: a BIC line, a message type line ("940"), or a header
# record such as "0000 01INGBNL2AXXXX00001940 00"
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_MESSAGE_TYPE = re.compile(r"^(?:MT)?(?P<type>9\d\d)$")
_HEADER_RECORD = re.compile(r"^\d{4}\s+\d{2}[A-Z]{6}[A-Z0-9]{2}\S*(?:\s+\d+)?$")
_HEADER_RECORD_TYPE = re.compile(r"(?P<type>9\d\d)\s+\d+$")
_SWIFT_TYPE = re.compile(r"\{2:[IO](?P<type>\d{3})")
# fields only an MT942 interim transaction report has (floor limit, date/time indication)
_INTERIM_TAGS = frozenset({"34F", "13D", "13"})
INTERIM = "942"
_STRUCTURED_86 = re.compile(r"^\s*(?P<code>\d{3})\?")
_SUBFIELD = re.compile(r"\?(\d{2})")
_SWIFT_KEYS = (
    "EREF|KREF|MREF|CRED|DEBT|BENM|ORDP|NAME|REMI|ISDT|CSID|MARF|CNTP|PREF|RTRN|ULTD|ULTC|PURP|"
    "ADDR|IBAN|BIC|ID|SVCL|TRCD|IREF|OCMT|ATTN|CDTRREF|CDTRREFTP|CD|ISSR"
)
_SWIFT_KEY = re.compile(rf"/({_SWIFT_KEYS})/")
_ACCOUNT_LIKE = re.compile(r"^[A-Z0-9]{8,34}$")


@dataclass
class _Field:
    tag: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.lines[0].strip() if self.lines else ""


@dataclass
class _RawStatement:
    line: int
    fields: list[_Field] = field(default_factory=list)


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def looks_like(text: str) -> bool:
    """True when a line of the text starts a statement (`:20:`), possibly after `{4:` or a
    transmission byte."""
    for line in text.splitlines():
        stripped = _TRANSMISSION.sub("", line).strip()
        if stripped.startswith("{") and "{4:" in stripped:
            stripped = stripped.split("{4:", 1)[1].strip()
        if stripped.startswith(":20:"):
            return True
    return False


def _where(line: int) -> str:
    return _("line %(line)s") % {"line": line}


def _interim(line: int) -> StatementUnreadable:
    return unreadable(
        _(
            "line %(line)s: the file is an MT942 interim transaction report, not an MT940 "
            "statement: it has no opening and closing balance, so it cannot be reconciled. Import "
            "the MT940 end-of-day statement instead."
        )
        % {"line": line},
        line,
        format="mt942",
    )


def _lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each line; SOH and ETX bytes separate lines too."""
    return [
        (number, segment.rstrip())
        for number, raw in enumerate(text.splitlines(), start=1)
        for segment in _TRANSMISSION.split(raw)
    ]


def _header_type(stripped: str) -> str | None:
    """The message type a bank header line names ('940', '942'), '' when it names none; None
    when the line is not a header line."""
    if _HEADER_RECORD.match(stripped):
        found = _HEADER_RECORD_TYPE.search(stripped)
        return found["type"] if found else ""
    message_type = _MESSAGE_TYPE.match(stripped)
    if message_type:
        return message_type["type"]
    return "" if _BIC.match(stripped) else None


def _next_text(lines: list[tuple[int, str]], position: int) -> str:
    for _number, line in lines[position + 1 :]:
        if line.strip():
            return line.strip()
    return ""


def _starts_header(lines: list[tuple[int, str]], position: int, stripped: str) -> bool:
    """Inside a statement that was not closed with '-', a header record, or a BIC line followed
    by a message type line, starts the next message."""
    if _HEADER_RECORD.match(stripped):
        return True
    return bool(_BIC.match(stripped) and _MESSAGE_TYPE.match(_next_text(lines, position)))


def _split(text: str) -> list[_RawStatement]:
    statements: list[_RawStatement] = []
    current: _RawStatement | None = None
    last: _Field | None = None
    lines = _lines(text)
    for position, (number, raw) in enumerate(lines):
        line = raw
        stripped = line.strip()
        if stripped.startswith("{"):
            swift_type = _SWIFT_TYPE.search(stripped)
            if swift_type and swift_type["type"] == INTERIM:
                raise _interim(number)
            if "{4:" not in stripped:
                continue  # SWIFT basic/application/user header or trailer block
            line = stripped = stripped.split("{4:", 1)[1].strip()
        if stripped == "-" or stripped.startswith("-}"):
            current, last = None, None
            continue
        if not stripped:
            continue
        if last is not None and _starts_header(lines, position, stripped):
            current, last = None, None  # the message ended without its '-' line
        if last is None and not stripped.startswith(":"):
            header_type = _header_type(stripped)
            if header_type == INTERIM:
                raise _interim(number)
            if header_type is not None:
                continue  # a bank header line before the message
        match = _TAG.match(stripped)
        if match:
            tag = match["tag"]
            if tag in _INTERIM_TAGS or (tag == INTERIM and current is None):
                raise _interim(number)
            if tag == "20":
                current = _RawStatement(line=number)
                statements.append(current)
            elif current is None:
                if len(tag) == 3 and tag.isdigit():
                    continue  # message type marker such as ':940:' before the statement
                raise unreadable(
                    _(
                        "line %(line)s: field :%(tag)s: comes before the :20: field that starts a "
                        "statement."
                    )
                    % {"line": number, "tag": tag},
                    number,
                )
            last = _Field(tag=tag, line=number, lines=[match["value"]])
            current.fields.append(last)
            continue
        if last is None:
            raise unreadable(
                _("line %(line)s: expected an MT940 field such as ':20:' but found '%(text)s'.")
                % {"line": number, "text": visible(stripped[:40])},
                number,
            )
        last.lines.append(line)
    if not statements:
        raise unreadable(_("No MT940 statement found: the file has no ':20:' field."))
    return statements


def _balance(item: _Field, label: str) -> tuple[int, datetime.date, str]:
    where = _where(item.line)
    value = "".join(part.strip() for part in item.lines)
    if len(value) >= 7 and value[1:7].isdigit():
        yymmdd(value[1:7], where=where, line=item.line)  # a precise message for an impossible date
    match = _BALANCE.match(value)
    if not match:
        raise unreadable(
            _(
                "%(where)s: %(label)s ':%(tag)s:%(value)s' not understood (expected C or D, date "
                "YYMMDD, currency, amount with a decimal comma, e.g. C240131EUR1234,56)."
            )
            % {"where": where, "label": label, "tag": item.tag, "value": visible(value)},
            item.line,
        )
    currency = match["currency"]
    date = yymmdd(match["date"], where=where, line=item.line)
    amount = decimal_to_minor(
        Decimal(match["amount"].replace(",", ".")), currency, where=where, line=item.line
    )
    return (-amount if match["mark"] == "D" else amount), date, currency


def _entry_date(value_date: datetime.date, mmdd: str, where: str, line: int) -> datetime.date:
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value_date.year
    if month - value_date.month > 6:
        year -= 1
    elif value_date.month - month > 6:
        year += 1
    return make_date(year, month, day, where=where, raw=mmdd, line=line)


def _narrative(item: _Field | None) -> dict[str, str]:
    """Description, counterparty and account from a :86: field (German ?NN subfields, SWIFT
    /KEY/ codes, or free text)."""
    if item is None:
        return {}
    text = "".join(part.rstrip() for part in item.lines).strip()
    structured = _STRUCTURED_86.match(text)
    if structured:
        body = text[structured.end() - 1 :]
        parts = _SUBFIELD.split(body)[1:]
        sub: dict[str, str] = {}
        for key, value in zip(parts[0::2], parts[1::2], strict=True):
            sub[key] = sub.get(key, "") + value
        remittance = "".join(sub.get(f"{n}", "") for n in [*range(20, 30), *range(60, 64)]).strip()
        return {
            "description": remittance or sub.get("00", "").strip(),
            "counterparty": (sub.get("32", "") + sub.get("33", "")).strip(),
            "counterparty_account": (sub.get("38", "") or sub.get("31", "")).strip(),
        }
    if _SWIFT_KEY.search(text):
        pieces = _SWIFT_KEY.split(text)[1:]
        codes: dict[str, str] = {}
        for key, value in zip(pieces[0::2], pieces[1::2], strict=True):
            codes.setdefault(key, value.strip("/ ").strip())
        return {
            "description": codes.get("REMI", "") or text,
            "counterparty": codes.get("NAME", ""),
            "counterparty_account": codes.get("IBAN", ""),
            "eref": codes.get("EREF", ""),
        }
    return {"description": text}


def _line(item: _Field, narrative: _Field | None, currency: str) -> StatementLine:
    where = _where(item.line)
    first = item.first
    if len(first) >= 6 and first[:6].isdigit():
        yymmdd(first[:6], where=where, line=item.line)
    match = _LINE.match(first)
    if not match:
        raise unreadable(
            _(
                "%(where)s: statement line ':61:%(value)s' not understood (expected value date "
                "YYMMDD, optional entry date MMDD, C/D/RC/RD, amount with a decimal comma, a type "
                "code such as NTRF, and a reference)."
            )
            % {"where": where, "value": visible(first)},
            item.line,
        )
    value_date = yymmdd(match["value"], where=where, line=item.line)
    booking_date = (
        _entry_date(value_date, match["entry"], where, item.line) if match["entry"] else value_date
    )
    amount = decimal_to_minor(
        Decimal(match["amount"].replace(",", ".")), currency, where=where, line=item.line
    )
    if match["mark"] in ("D", "RC"):
        amount = -amount
    customer_reference, _separator, bank_reference = match["rest"].partition("//")
    customer_reference = customer_reference.strip()
    bank_reference = bank_reference.strip()
    supplementary = " ".join(part.strip() for part in item.lines[1:]).strip()
    info = _narrative(narrative)
    if customer_reference == "EREF" and info.get("eref"):
        reference = info["eref"]
    elif customer_reference and customer_reference != "NONREF":
        reference = customer_reference
    else:
        reference = bank_reference
    counterparty_account = info.get("counterparty_account", "")
    description = info.get("description", "")
    if supplementary and not counterparty_account and _ACCOUNT_LIKE.match(supplementary):
        counterparty_account = supplementary
    elif supplementary and not description:
        description = supplementary
    return StatementLine(
        index=0,
        booking_date=booking_date,
        value_date=value_date,
        amount_minor=amount,
        currency=currency,
        reference=reference,
        description=description,
        counterparty=info.get("counterparty", ""),
        counterparty_account=counterparty_account,
        bank_code=match["type"],
    )


def _statement(raw: _RawStatement, number: int) -> ParsedStatement:
    values: dict[str, _Field] = {}
    lines: list[tuple[_Field, _Field | None]] = []
    previous = ""
    for item in raw.fields:
        if item.tag == "61":
            lines.append((item, None))
        elif item.tag == "86":
            if previous == "61":  # the narrative of the line just before it
                lines[-1] = (lines[-1][0], item)
        elif item.tag in ("60F", "60M"):
            values.setdefault("60", item)  # the first opening of the statement
        elif item.tag in ("62F", "62M"):
            values["62"] = item  # the last closing
        elif item.tag in ("28C", "28"):
            values.setdefault("28", item)
        else:
            values.setdefault(item.tag, item)
        previous = item.tag
    reference = values["20"].first
    label = _("statement %(n)s (:20:%(reference)s, line %(line)s)") % {
        "n": number,
        "reference": reference,
        "line": raw.line,
    }
    for tag, name in (("25", ":25:"), ("60", ":60F:"), ("62", ":62F:")):
        if tag not in values:
            raise unreadable(
                _("%(statement)s: the field %(tag)s is missing.")
                % {"statement": label, "tag": name},
                raw.line,
            )
    opening, opening_date, currency = _balance(values["60"], _("opening balance"))
    closing, closing_date, closing_currency = _balance(values["62"], _("closing balance"))
    problems = []
    if closing_currency != currency:
        problems.append(
            _(
                "%(statement)s: the opening balance is in %(opening)s but the closing balance "
                "in %(closing)s."
            )
            % {"statement": label, "opening": currency, "closing": closing_currency}
        )
    sequence = values["28"].first if "28" in values else ""
    return finish_statement(
        format=FORMAT,
        statement_id=f"{reference}/{sequence}" if sequence else reference,
        account=values["25"].first,
        currency=currency,
        opening_minor=opening,
        opening_date=opening_date,
        closing_minor=closing,
        closing_date=closing_date,
        lines=chronological([_line(item, info, currency) for item, info in lines]),
        problems=problems,
        balance_currencies=(currency, closing_currency),
    )


def parse(data: bytes) -> list[ParsedStatement]:
    text = decode(data)
    return [_statement(raw, n) for n, raw in enumerate(_split(text), start=1)]
