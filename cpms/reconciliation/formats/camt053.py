"""ISO 20022 CAMT.053 bank-to-customer statements (camt.053.001.02 to .08), stdlib XML only.

Document type and entity declarations are refused before parsing (no external entities, no
entity expansion). Each <Stmt> becomes one ParsedStatement; each booked <Ntry> one line.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .base import (
    ParsedStatement,
    StatementLine,
    StatementUnreadable,
    chronological,
    decimal_to_minor,
    finish_statement,
)

FORMAT = "camt053"
VERSIONS = range(2, 9)
_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.(\d{3})\.001\.(\d{2})$")
_KINDS = {"052": "account report", "053": "statement", "054": "debit/credit notification"}


def looks_like(data: bytes) -> bool:
    """Any XML document: the CAMT parser then says precisely why one is not a statement."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _refuse(message: str, **fields: object) -> StatementUnreadable:
    return StatementUnreadable(message, fields={"file": message, **fields})


class _Xml:
    """Namespace-aware lookups with paths written without prefixes: 'Acct/Id/IBAN'."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def path(self, path: str) -> str:
        return "/".join(f"{{{self.namespace}}}{part}" for part in path.split("/"))

    def find(self, element: ET.Element | None, path: str) -> ET.Element | None:
        return None if element is None else element.find(self.path(path))

    def findall(self, element: ET.Element, path: str) -> list[ET.Element]:
        return element.findall(self.path(path))

    def text(self, element: ET.Element | None, *paths: str) -> str:
        """The stripped text of the first path that has some, else ''."""
        for path in paths:
            found = self.find(element, path)
            if found is not None and (found.text or "").strip():
                return (found.text or "").strip()
        return ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _root(data: bytes) -> tuple[ET.Element, _Xml]:
    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise _refuse(
            _(
                "The XML file declares a document type or entities (<!DOCTYPE>/<!ENTITY>); "
                "CAMT.053 statements never do, so it is refused."
            )
        )
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPE and ENTITY were refused above
    except ET.ParseError as exc:
        line, column = exc.position
        raise _refuse(
            _("The file is not well-formed XML (%(reason)s): line %(line)s, column %(column)s.")
            % {"reason": str(exc).split(":")[0], "line": line, "column": column},
            line=line,
        ) from None
    if _local(root.tag) != "Document":
        # an ISO 20022 business message envelope (<AppHdr> + <Document>) carries it inside
        inner = next((item for item in root.iter() if _local(item.tag) == "Document"), None)
        if inner is None:
            raise _refuse(
                _("The root element is <%(tag)s>; a CAMT.053 file starts with <Document>.")
                % {"tag": _local(root.tag)}
            )
        root = inner
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    match = _NAMESPACE.match(namespace)
    if not match:
        raise _refuse(
            _(
                "The namespace '%(namespace)s' is not an ISO 20022 CAMT namespace (expected "
                "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 to .08)."
            )
            % {"namespace": namespace}
        )
    kind, version = match[1], int(match[2])
    if kind != "053":
        raise _refuse(
            _("The file is camt.%(kind)s (%(name)s), not camt.053 (statement).")
            % {"kind": kind, "name": _KINDS.get(kind, "?")}
        )
    if version not in VERSIONS:
        raise _refuse(
            _("camt.053.001.%(version)02d is not supported (versions 02 to 08 are).")
            % {"version": version}
        )
    return root, _Xml(namespace)


def _date(xml: _Xml, element: ET.Element | None, where: str) -> datetime.date | None:
    """<Dt> or <DtTm> inside `element` (the date part as written)."""
    text = xml.text(element, "Dt", "DtTm")
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise _refuse(
            _("%(where)s: '%(text)s' is not a date.") % {"where": where, "text": text}
        ) from None


def _amount(xml: _Xml, element: ET.Element, where: str) -> tuple[int, str]:
    """Signed minor units and currency of <Amt Ccy=".."> with <CdtDbtInd>."""
    amount = xml.find(element, "Amt")
    if amount is None or not (amount.text or "").strip():
        raise _refuse(_("%(where)s: <Amt> is missing.") % {"where": where})
    currency = (amount.get("Ccy") or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _refuse(
            _("%(where)s: <Amt> has no valid Ccy attribute (found '%(currency)s').")
            % {"where": where, "currency": currency}
        )
    try:
        value = Decimal((amount.text or "").strip())
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise _refuse(
            _("%(where)s: '%(text)s' is not an amount (expected e.g. 1234.56).")
            % {"where": where, "text": (amount.text or "").strip()}
        ) from None
    minor = decimal_to_minor(value, currency, where=where)
    indicator = xml.text(element, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise _refuse(
            _("%(where)s: <CdtDbtInd> is '%(value)s', expected CRDT or DBIT.")
            % {"where": where, "value": indicator}
        )
    return (minor if indicator == "CRDT" else -minor), currency


def _account_id(xml: _Xml, account: ET.Element | None) -> str:
    return xml.text(account, "Id/IBAN", "Id/Othr/Id")


def _party(xml: _Xml, parties: ET.Element | None, role: str) -> tuple[str, str]:
    """Name and account of Dbtr/Cdtr (v02-v07 <Dbtr><Nm>, v08 <Dbtr><Pty><Nm>)."""
    name = xml.text(parties, f"{role}/Nm", f"{role}/Pty/Nm")
    account = _account_id(xml, xml.find(parties, f"{role}Acct"))
    return name, account


def _bank_code(xml: _Xml, element: ET.Element | None) -> str:
    code = xml.find(element, "BkTxCd")
    if code is None:
        return ""
    domain = xml.text(code, "Domn/Cd")
    if domain:
        parts = [domain, xml.text(code, "Domn/Fmly/Cd"), xml.text(code, "Domn/Fmly/SubFmlyCd")]
        return "/".join(part for part in parts if part)
    return xml.text(code, "Prtry/Cd")


def _entry(xml: _Xml, entry: ET.Element, where: str) -> StatementLine:
    amount, currency = _amount(xml, entry, where)
    booking_date = _date(xml, xml.find(entry, "BookgDt"), where)
    if booking_date is None:
        raise _refuse(_("%(where)s: <BookgDt> is missing.") % {"where": where})
    details = xml.findall(entry, "NtryDtls/TxDtls")
    first = details[0] if details else None
    references = [
        xml.text(item, path) for path in ("Refs/EndToEndId", "Refs/InstrId") for item in details
    ]
    reference = next((ref for ref in references if ref and ref != "NOTPROVIDED"), "")
    reference = (
        reference
        or xml.text(entry, "AcctSvcrRef", "NtryRef")
        or xml.text(first, "Refs/AcctSvcrRef")
    )
    texts = [
        (text.text or "").strip()
        for item in details
        for text in xml.findall(item, "RmtInf/Ustrd")
        if (text.text or "").strip()
    ]
    description = (
        " ".join(texts) or xml.text(first, "AddtlTxInf") or xml.text(entry, "AddtlNtryInf")
    )
    parties = xml.find(first, "RltdPties")
    sides = ("Dbtr", "Cdtr") if amount >= 0 else ("Cdtr", "Dbtr")
    counterparty, counterparty_account = _party(xml, parties, sides[0])
    if not counterparty and not counterparty_account:
        counterparty, counterparty_account = _party(xml, parties, sides[1])
    return StatementLine(
        index=0,
        booking_date=booking_date,
        value_date=_date(xml, xml.find(entry, "ValDt"), where),
        amount_minor=amount,
        currency=currency,
        reference=reference,
        description=description,
        counterparty=counterparty,
        counterparty_account=counterparty_account,
        bank_code=_bank_code(xml, entry) or _bank_code(xml, first),
    )


def _balances(
    xml: _Xml, statement: ET.Element, where: str
) -> dict[str, tuple[int, str, datetime.date | None]]:
    found: dict[str, tuple[int, str, datetime.date | None]] = {}
    for number, balance in enumerate(xml.findall(statement, "Bal"), start=1):
        kind = xml.text(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
        here = _("%(where)s, <Bal> %(n)s (%(kind)s)") % {"where": where, "n": number, "kind": kind}
        amount, currency = _amount(xml, balance, here)
        found.setdefault(kind, (amount, currency, _date(xml, xml.find(balance, "Dt"), here)))
    return found


def _statement(xml: _Xml, statement: ET.Element, number: int) -> ParsedStatement:
    statement_id = xml.text(statement, "Id")
    where = _("<Stmt> %(n)s (Id %(id)s)") % {"n": number, "id": statement_id or "?"}
    account = _account_id(xml, xml.find(statement, "Acct"))
    balances = _balances(xml, statement, where)
    opening = balances.get("OPBD") or balances.get("PRCD")
    closing = balances.get("CLBD")
    problems = []
    if opening is None:
        problems.append(_("%(where)s: no opening balance (OPBD or PRCD).") % {"where": where})
    if closing is None:
        problems.append(_("%(where)s: no closing balance (CLBD).") % {"where": where})
    currency = xml.text(statement, "Acct/Ccy") or (opening or closing or (0, "", None))[1]
    lines = []
    for position, entry in enumerate(xml.findall(statement, "Ntry"), start=1):
        status = xml.text(entry, "Sts", "Sts/Cd")
        if status and status != "BOOK":
            continue  # pending or information-only entries do not move the booked balance
        here = _("%(where)s, <Ntry> %(n)s") % {"where": where, "n": position}
        line = _entry(xml, entry, here)
        currency = currency or line.currency
        if line.currency != currency:
            problems.append(
                _("%(where)s: amount in %(entry)s, the account is in %(account)s.")
                % {"where": here, "entry": line.currency, "account": currency}
            )
        lines.append(line)
    for kind, balance in (("OPBD/PRCD", opening), ("CLBD", closing)):
        if balance is not None and currency and balance[1] != currency:
            problems.append(
                _("%(where)s: balance %(kind)s in %(balance)s, the account is in %(account)s.")
                % {"where": where, "kind": kind, "balance": balance[1], "account": currency}
            )
    return finish_statement(
        format=FORMAT,
        statement_id=statement_id,
        account=account,
        currency=currency,
        opening_minor=opening[0] if opening else None,
        opening_date=opening[2] if opening else None,
        closing_minor=closing[0] if closing else None,
        closing_date=closing[2] if closing else None,
        lines=chronological(lines),
        problems=problems,
    )


def parse(data: bytes) -> list[ParsedStatement]:
    root, xml = _root(data)
    container = xml.find(root, "BkToCstmrStmt")
    if container is None:
        raise _refuse(_("<Document> has no <BkToCstmrStmt> element."))
    statements = xml.findall(container, "Stmt")
    if not statements:
        raise _refuse(_("<BkToCstmrStmt> has no <Stmt> element: the file holds no statement."))
    return [_statement(xml, item, n) for n, item in enumerate(statements, start=1)]
