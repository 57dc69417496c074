"""CAMT.053 parser: the genkgo/camt oracle (the .json beside the .xml is the upstream library's
parse of it), the broken fixture, and hand-written edge cases.

Fixtures in ../shared/fixtures/statements/camt/ come from genkgo/camt test/data/, unchanged
(MIT, LICENSE-genkgo-camt-MIT.txt).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from cpms.reconciliation.formats import StatementUnreadable, parse_statements
from tests.reconciliation.fixture_files import statements_dir

FIXTURES = statements_dir()
pytestmark = pytest.mark.skipif(
    not (FIXTURES / "camt").is_dir(), reason=f"statement fixtures missing: {FIXTURES}"
)
MULTI = "genkgo_camt053.v2.multi.statement"
STATEMENT_CLASS = "Genkgo\\Camt\\Camt053\\DTO\\Statement"
ENTRY_CLASS = "Genkgo\\Camt\\DTO\\Entry"


def fixture(name: str) -> bytes:
    return (FIXTURES / "camt" / name).read_bytes()


def _day(value: dict[str, Any] | None) -> datetime.date | None:
    """A PHP DateTimeImmutable dump {"__CLASS__": ..., "0": "2014-12-31T00:00:00+00:00"}."""
    return None if value is None else datetime.date.fromisoformat(value["0"][:10])


def _oracle_entries(node: Any, record: dict | None = None) -> list[tuple[dict, dict]]:
    """(statement record, entry) for every entry the dump expands, wherever it is nested. An
    entry's record is its own getRecord when expanded, else the statement it is listed in."""
    found: list[tuple[dict, dict]] = []
    if isinstance(node, list):
        for item in node:
            found += _oracle_entries(item, record)
    elif isinstance(node, dict):
        if node.get("__CLASS__") == STATEMENT_CLASS:
            record = node
        if node.get("__CLASS__") == ENTRY_CLASS:
            own = node.get("getRecord")
            owner = own if isinstance(own, dict) else record
            assert owner is not None, "an oracle entry without a statement"
            found.append((owner, node))
            found += _oracle_entries(own, None) if isinstance(own, dict) else []
            return found
        for value in node.values():
            found += _oracle_entries(value, record)
    return found


def _check_record(statement, record: dict) -> None:
    assert statement.statement_id == record["getId"]
    assert statement.account == record["getAccount"]["getIdentification"]
    assert len(statement.lines) == len(record["getEntries"])
    for balance in record["getBalances"]:
        amount = int(balance["getAmount"]["getAmount"])
        currency = balance["getAmount"]["getCurrency"]["getCode"]
        assert statement.currency == currency
        if balance["getType"] == "opening":
            assert (statement.opening_minor, statement.opening_date) == (
                amount,
                _day(balance["getDate"]),
            )
        elif balance["getType"] == "closing":
            assert (statement.closing_minor, statement.closing_date) == (
                amount,
                _day(balance["getDate"]),
            )
        else:
            pytest.fail(f"balance type {balance['getType']} not checked")


def _check_entry(line, entry: dict) -> None:
    assert line.amount_minor == int(entry["getAmount"]["getAmount"])
    assert line.currency == entry["getAmount"]["getCurrency"]["getCode"]
    assert line.booking_date == _day(entry["getBookingDate"])
    assert line.value_date == _day(entry["getValueDate"])
    indicator = entry["getCreditDebitIndicator"]
    assert (line.amount_minor > 0) == (indicator == "CRDT")
    detail = entry["getTransactionDetail"] or {}
    references = detail.get("getReference") or {}
    expected_reference = (
        references.get("getEndToEndId")
        or references.get("getInstructionId")
        or entry["getAccountServicerReference"]
        or entry["getReference"]
        or ""
    )
    assert line.reference == expected_reference
    remittance = detail.get("getRemittanceInformation")
    if remittance and remittance.get("getMessage"):
        assert line.description == remittance["getMessage"]
    parties = [party for party in detail.get("getRelatedParties") or [] if party]
    if parties:
        names = [party["getRelatedPartyType"]["getName"] for party in parties]
        accounts = [(party.get("getAccount") or {}).get("getIdentification") for party in parties]
        assert line.counterparty in names
        assert line.counterparty_account in accounts
    code = entry["getBankTransactionCode"]
    if code and code.get("getProprietary"):
        assert line.bank_code == code["getProprietary"]["getCode"]


def test_parse_statements__camt_multi_statement_matches_json_oracle():
    oracle = json.loads(fixture(f"{MULTI}.json"))

    statements = parse_statements(fixture(f"{MULTI}.xml"))

    assert len(statements) == len(oracle["getRecords"])
    by_id = {statement.statement_id: statement for statement in statements}
    pairs = _oracle_entries(oracle)
    assert pairs, "the oracle lists no entry"
    checked = set()
    for record, entry in pairs:
        statement = by_id[record["getId"]]
        _check_record(statement, record)
        _check_entry(statement.lines[entry["getIndex"]], entry)
        checked.add(record["getId"])
    assert checked == {"254EURNL26VAYB8060476890"}  # the only statement the dump expands


def test_parse_statements__camt_multi_statement_first_statement():
    # the oracle dump shows the first statement only as "__RECURSIVITY__": values from the XML
    first, second = parse_statements(fixture(f"{MULTI}.xml"))

    assert first.statement_id == "253EURNL26VAYB8060476890"
    assert first.account == "NL26VAYB8060476890"
    assert first.currency == "EUR"
    assert (first.opening_minor, first.opening_date) == (1815, datetime.date(2014, 12, 30))
    assert (first.closing_minor, first.closing_date) == (2700, datetime.date(2014, 12, 31))
    (line,) = first.lines
    assert line.amount_minor == 885
    assert line.booking_date == datetime.date(2014, 12, 31)
    assert line.value_date == datetime.date(2015, 1, 2)
    assert line.reference == "000000001"
    assert line.description == "Transaction Description 1"
    assert line.counterparty == "Company Name 1"
    assert line.counterparty_account == "NL56AGDH9619008421"
    assert line.bank_code == "544"
    assert first.consistent and second.consistent
    assert [s.format for s in (first, second)] == ["camt053", "camt053"]


def test_parse_statements__camt_wrong_fixture_refused():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(fixture("genkgo_camt053.v2.wrong.xml"))

    assert caught.value.code == "reconciliation.unreadable"
    assert caught.value.message == (
        "<BkToCstmrStmt> has no <Stmt> element: the file holds no statement."
    )


V08 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-02-01T08:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S-2024-01</Id>
   <Acct><Id><Othr><Id>1234567890</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">10.00</Amt>
    <CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-01-31</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">{closing}</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><DtTm>2024-02-01T23:59:59+08:00</DtTm></Dt></Bal>
   <Ntry>
    <NtryRef>N-2</NtryRef><Amt Ccy="CNY">1200.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>
    <Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2024-02-01T10:15:00+08:00</DtTm></BookgDt>
    <AcctSvcrRef>BANK-77</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
    </BkTxCd>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>NOTPROVIDED</EndToEndId>{instruction}</Refs>
     <RltdPties><Dbtr><Pty><Nm>Payer Ltd</Nm></Pty></Dbtr>
      <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
     <RmtInf><Ustrd>Invoice 42</Ustrd><Ustrd>part 2</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="CNY">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
    <BookgDt><Dt>2024-02-01</Dt></BookgDt>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def v08(*, closing: str = "1190.50", instruction: str = "", message: str = "camt.053") -> str:
    return (
        V08.replace("{closing}", closing)
        .replace("{instruction}", instruction)
        .replace("camt.053.001.08", f"{message}.001.08")
    )


def test_parse_statements__camt_v08_other_id_datetime_domain_code():
    (statement,) = parse_statements(v08().encode())

    assert statement.statement_id == "S-2024-01"
    assert statement.account == "1234567890"
    assert (statement.opening_minor, statement.opening_date) == (-1000, datetime.date(2024, 1, 31))
    assert (statement.closing_minor, statement.closing_date) == (119050, datetime.date(2024, 2, 1))
    (line,) = statement.lines  # the pending entry is not part of the booked statement
    assert line.amount_minor == 120050
    assert line.booking_date == datetime.date(2024, 2, 1)
    assert line.value_date is None
    assert line.reference == "BANK-77"  # EndToEndId NOTPROVIDED is skipped
    assert line.description == "Invoice 42 part 2"
    assert line.counterparty == "Payer Ltd"
    assert line.counterparty_account == "DE89370400440532013000"
    assert line.bank_code == "PMNT/RCDT/ESCT"
    assert statement.consistent


def test_parse_statements__camt_unbalanced_statement_flagged():
    (statement,) = parse_statements(v08(closing="1190.00").encode())

    assert statement.consistent is False
    assert statement.problems == (
        "Opening balance -10.00 + entries 1,200.50 = 1,190.50, but the closing balance is "
        "1,190.00 (difference -0.50 CNY).",
    )


def test_parse_statements__camt_doctype_refused():
    data = v08().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x "y">]>',
    )

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data.encode(), format="camt053")

    assert "<!DOCTYPE>/<!ENTITY>" in caught.value.message


def test_parse_statements__camt_malformed_xml_refused():
    data = v08().replace("</Stmt>", "</Stmtx>")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data.encode())

    line = data.splitlines().index("  </Stmtx>") + 1
    assert caught.value.message == (
        f"The file is not well-formed XML (mismatched tag): line {line}, column 4."
    )
    assert caught.value.fields["line"] == line


def test_parse_statements__camt052_refused():
    data = v08(message="camt.052")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data.encode())

    assert (
        caught.value.message == "The file is camt.052 (account report), not camt.053 (statement)."
    )


def test_parse_statements__camt_bad_indicator_refused():
    data = v08().replace(
        "<CdtDbtInd>CRDT</CdtDbtInd>\n    <Sts>", "<CdtDbtInd>CR</CdtDbtInd>\n    <Sts>"
    )

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data.encode())

    assert caught.value.message == (
        "<Stmt> 1 (Id S-2024-01), <Ntry> 1: <CdtDbtInd> is 'CR', expected CRDT or DBIT."
    )


def test_parse_statements__other_xml_refused_with_root_element():
    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(b"<?xml version='1.0'?><html><body>statement</body></html>")

    assert caught.value.message == (
        "The root element is <html>; a CAMT.053 file starts with <Document>."
    )


def test_parse_statements__unsupported_camt_version_refused():
    data = v08().replace("camt.053.001.08", "camt.053.001.09")

    with pytest.raises(StatementUnreadable) as caught:
        parse_statements(data.encode())

    assert caught.value.message == "camt.053.001.09 is not supported (versions 02 to 08 are)."


def test_parse_statements__camt_inside_business_message_envelope():
    document = v08().split("?>", 1)[1]
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<BizMsg xmlns="urn:example:envelope">'
        "<AppHdr><BizMsgIdr>B1</BizMsgIdr></AppHdr>" + document + "</BizMsg>"
    ).encode()

    (statement,) = parse_statements(data)

    assert statement.statement_id == "S-2024-01"
    assert statement.consistent is True


def test_parse_statements__camt_instruction_id_when_end_to_end_not_provided():
    data = v08(instruction="<InstrId>INSTR-9</InstrId>")

    (statement,) = parse_statements(data.encode())

    assert statement.lines[0].reference == "INSTR-9"
