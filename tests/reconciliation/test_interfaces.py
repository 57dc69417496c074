"""Reconciliation API and console pages (permissions in matrix.py)."""

from __future__ import annotations

import base64
import datetime
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from cpms.audit.models import AuditEntry
from cpms.reconciliation.choices import BreakStatus
from cpms.reconciliation.models import BankStatement, Break, CsvProfileRecord, Match
from tests.reconciliation.conftest import fixture_path, needs_fixtures
from tests.reconciliation.helpers import mt940

pytestmark = pytest.mark.django_db
P = "/api/v1/reconciliation"
D = datetime.date


@pytest.fixture
def api(finance, token_for) -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(finance, scopes=['ledger:write'])}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.fixture
def console(finance) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(finance)
    return client


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_api_import_base64__imports_and_matches(api, cny_bank, post):
    transfer = post(cny_bank, 10000, D(2025, 3, 3), "INV-1")
    response = api.post(
        f"{P}/statements/base64",
        {"content_base64": _b64(mt940([(D(2025, 3, 3), 10000, "INV-1")])), "filename": "a.sta"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["consistent"], body["matches"], body["breaks"]) == (True, 1, 0)
    statement_id = body["statements"][0]["id"]
    detail = api.get(f"{P}/statements/{statement_id}").json()
    assert detail["account_code"] == "BANK:BOC:CNY"
    assert [
        (line["amount_minor"], line["transfer_id"], line["match_how"]) for line in detail["lines"]
    ] == [(10000, transfer.pk, "auto")]
    listed = api.get(f"{P}/statements").json()
    assert [row["id"] for row in listed["items"]] == [statement_id]


@needs_fixtures
def test_api_import_multipart__boc_fixture(api, cny_bank):
    with fixture_path("csv_cn/boc_debit.csv").open("rb") as stream:
        response = api.post(f"{P}/statements", {"file": stream, "profile": "boc"})
    assert response.status_code == 201, response.content
    assert response.json()["statements"][0]["closing_minor"] == 324028


def test_api_import__refused_writes_nothing(api, cny_bank):
    response = api.post(
        f"{P}/statements/base64",
        {"content_base64": _b64(b"hello world"), "account": cny_bank.code},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "reconciliation.unreadable"
    assert BankStatement.objects.count() == 0
    bad = api.post(
        f"{P}/statements/base64", {"content_base64": "%%%"}, content_type="application/json"
    )
    assert bad.status_code == 422
    assert "content_base64" in bad.json()["error"]["fields"]


def test_api_match_unmatch_breaks_report(api, cny_bank, post, finance):
    transfer = post(cny_bank, 7000, D(2025, 3, 20))
    api.post(
        f"{P}/statements/base64",
        {"content_base64": _b64(mt940([(D(2025, 3, 3), 7000, "A")]))},
        content_type="application/json",
    )
    line_id = BankStatement.objects.get().lines.get().pk
    breaks = api.get(f"{P}/breaks", {"status": "open"}).json()
    assert [(b["kind"], b["amount_minor"], b["age_days"]) for b in breaks] == [
        ("unmatched_line", 7000, 0)
    ]
    matched = api.post(
        f"{P}/matches",
        {"line_id": line_id, "transfer_id": transfer.pk},
        content_type="application/json",
    )
    assert matched.status_code == 201
    assert matched.json()["how"] == "manual"
    again = api.post(
        f"{P}/matches",
        {"line_id": line_id, "transfer_id": transfer.pk},
        content_type="application/json",
    )
    assert again.status_code == 409
    undone = api.post(
        f"{P}/matches/{matched.json()['id']}/undo",
        {"reason": "wrong"},
        content_type="application/json",
    )
    assert undone.status_code == 200 and undone.json()["undo_reason"] == "wrong"
    open_break = Break.objects.filter(status=BreakStatus.OPEN).first()
    assigned = api.post(
        f"{P}/breaks/{open_break.pk}/assign",
        {"owner_id": finance.pk},
        content_type="application/json",
    )
    assert assigned.json()["owner_id"] == finance.pk
    resolved = api.post(
        f"{P}/breaks/{open_break.pk}/resolve", {"note": "ok"}, content_type="application/json"
    )
    assert resolved.json()["status"] == "resolved"
    report = api.get(f"{P}/report", {"date": "2025-03-31"}).json()
    assert report["date"] == "2025-03-31"
    row = report["accounts"][0]
    assert (row["lines_total"], row["lines_matched"], row["ledger_balance_minor"]) == (1, 0, 7000)
    accounts = api.get(f"{P}/accounts").json()
    assert accounts == [
        {
            "id": cny_bank.pk,
            "code": "BANK:BOC:CNY",
            "name": cny_bank.name,
            "asset": "CNY",
            "bank_account_identifier": "3167",
            "balance_minor": 7000,
        }
    ]


def test_api_profiles__create_and_list(api):
    body = {
        "name": "mybank",
        "label": "My bank",
        "header_contains": ["Date", "Amount"],
        "date_column": "Date",
        "amount_column": "Amount",
    }
    created = api.post(f"{P}/profiles", body, content_type="application/json")
    assert created.status_code == 201, created.content
    names = [(p["name"], p["builtin"]) for p in api.get(f"{P}/profiles").json()]
    assert names == [("boc", True), ("cmb", True), ("mybank", False)]
    bad = api.post(
        f"{P}/profiles",
        {**body, "name": "other", "date_column": ""},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert "date_column" in bad.json()["error"]["fields"]
    assert CsvProfileRecord.objects.count() == 1


def _text(response) -> str:
    """The page as text: tags removed, whitespace collapsed."""
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_console_pages__render(console, cny_bank, post, finance):
    post(cny_bank, 7000, D(2025, 3, 20))
    console.post(
        reverse("reconciliation:upload"),
        {"file": io.BytesIO(mt940([(D(2025, 3, 3), 7000, "A")])), "format": ""},
    )
    assert BankStatement.objects.count() == 1
    for name, kwargs in [
        ("reconciliation:list", None),
        ("reconciliation:profiles", None),
        ("reconciliation:profile-create", None),
        ("reconciliation:upload", None),
    ]:
        response = console.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200, name
    assert "STMT1/1" in _text(console.get(reverse("reconciliation:list")))


@pytest.fixture
def reconciled(console, cny_bank, post):
    """A statement (opening 1,000.00) with a line matched to a transfer and a bank fee unknown
    to the ledger; a later transfer that is on no statement."""
    matched = post(cny_bank, 10000, D(2025, 3, 3), "INV-1")
    late = post(cny_bank, 7000, D(2025, 3, 20), "LATE-1")
    upload = io.BytesIO(
        mt940(
            [(D(2025, 3, 3), 10000, "INV-1"), (D(2025, 3, 4), -2550, "FEE-9")],
            opening=100000,
        )
    )
    upload.name = "march.sta"
    console.post(reverse("reconciliation:upload"), {"file": upload})
    return BankStatement.objects.get(), matched, late


def test_console_detail__shows_statement_figures_and_lines(console, reconciled):
    statement, matched, _late = reconciled
    page = _text(console.get(reverse("reconciliation:detail", kwargs={"pk": statement.pk})))
    assert "Bank statement STMT1/1" in page
    assert "Bank account Client-money bank account · CNY · 3167 (3167)" in page
    assert "BANK:BOC:CNY" not in page
    assert "File march.sta · mt940" in page
    assert "Opening 2025-03-03 1,000.00 CNY" in page
    assert "Entries 74.50 CNY" in page
    assert "Closing 2025-03-04 1,074.50 CNY" in page
    assert "Balance check Adds up" in page
    assert (
        f"0 2025-03-03 2025-03-03 100.00 CNY INV-1 payment INV-1 Transfer #{matched.pk} (Automatic)"
        in page
    )
    assert "1 2025-03-04 2025-03-04 -25.50 CNY FEE-9 payment FEE-9 Unmatched" in page


def test_console_workspace__shows_both_unmatched_sides(console, reconciled, cny_bank):
    _statement, matched, late = reconciled
    page = _text(console.get(reverse("reconciliation:workspace", kwargs={"pk": cny_bank.pk})))
    assert "Reconciliation workspace: Client-money bank account · CNY · 3167" in page
    assert "Open statement lines 1–1 of 1 · net -25.50 CNY" in page
    assert "2025-03-04 -25.50 CNY FEE-9 —" in page
    assert "Open ledger transfers 1–1 of 1 · net 70.00 CNY" in page
    assert f"2025-03-20 70.00 CNY #{late.pk} LATE-1" in page
    assert f"#{matched.pk} INV-1" not in page


def test_console_breaks__shows_open_breaks(console, reconciled):
    page = _text(console.get(reverse("reconciliation:breaks")))
    assert (
        "Statement line without ledger transfer · statement "
        "Client-money bank account · CNY · 3167 -25.50 CNY FEE-9 0 — Open" in page
    )
    assert "No breaks." not in page
    resolved = _text(console.get(reverse("reconciliation:breaks"), {"status": "resolved"}))
    assert "No breaks." in resolved


def test_console_report__shows_totals(console, reconciled):
    page = _text(console.get(reverse("reconciliation:report"), {"date": "2025-03-31"}))
    assert "Reconciliation report 2025-03-31" in page
    # statement closing, ledger through the date, ledger at the closing date, difference,
    # matched, unmatched lines, unmatched transfers, not adding up, not checkable, breaks by age
    assert (
        "Client-money bank account · CNY · 3167 2025-03-04 1,074.50 CNY 170.00 CNY 100.00 CNY "
        "974.50 CNY 1 1 1 0 0 0 0 0 0" in page
    )


def test_console_upload__refusal_shown_on_form(console, cny_bank):
    upload = io.BytesIO(mt940([(D(2025, 3, 3), 7000, "A")]))
    upload.name = "x.sta"
    response = console.post(reverse("reconciliation:upload"), {"file": upload, "account": "NOPE"})
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["account", "__all__"]
    assert BankStatement.objects.count() == 0


def test_console_workspace__htmx_match(console, cny_bank, post):
    transfer = post(cny_bank, 7000, D(2025, 3, 20))
    upload = io.BytesIO(mt940([(D(2025, 3, 3), 7000, "A")]))
    upload.name = "s.sta"
    console.post(reverse("reconciliation:upload"), {"file": upload})
    line = BankStatement.objects.get().lines.get()
    response = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": line.pk, "transfer_id": transfer.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Matched: line of 2025-03-03, 70.00 CNY." in response.content.decode()
    assert Match.objects.get().how == "manual"
    refused = console.post(
        reverse("reconciliation:match", kwargs={"pk": cny_bank.pk}),
        {"line_id": line.pk, "transfer_id": transfer.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "is matched already" in refused.content.decode()


def test_console_profile_create__field_errors(console):
    data = {
        "name": "mine",
        "label": "Mine",
        "encodings": "utf-8",
        "delimiter": ";",
        "header_contains": "Datum, Betrag",
        "date_column": "Datum",
        "date_formats": "%d.%m.%Y",
        "amount_column": "Betrag",
        "default_currency": "EUR",
    }
    response = console.post(reverse("reconciliation:profile-create"), data)
    assert response.status_code == 302
    record = CsvProfileRecord.objects.get()
    assert record.definition["delimiter"] == ";"
    assert record.definition["header_contains"] == ["Datum", "Betrag"]
    again = console.post(reverse("reconciliation:profile-create"), {**data, "name": "mine"})
    assert again.status_code == 200
    assert again.context["form"].errors["name"] == ["A profile named mine exists."]
    assert AuditEntry.objects.filter(action="reconciliation.profile_saved").count() == 1


def test_console_report_xlsx(console, cny_bank, post):
    post(cny_bank, 12345, D(2025, 3, 3))
    response = console.get(reverse("reconciliation:report-xlsx"), {"date": "2025-03-31"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Reconciliation report", "2025-03-31")
    assert rows[2][:6] == (
        "Client-money bank account · CNY · 3167",
        "CNY",
        None,
        None,
        "123.45",
        None,
    )


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_api_lists__query_count_does_not_grow_with_rows(api, cny_bank, post, finance):
    day = D(2025, 3, 3)
    services_import = __import__("cpms.reconciliation.services", fromlist=["x"]).statement_import
    services_import(actor=finance, data=mt940([(day, 100, "A")], statement="Q1"))
    first = BankStatement.objects.get()
    api.get(f"{P}/accounts")  # the token's first use is recorded once
    small = (
        _queries(api, f"{P}/breaks"),
        _queries(api, f"{P}/statements"),
        _queries(api, f"{P}/statements/{first.pk}"),
    )
    for number in range(2, 6):
        post(cny_bank, 100 * number, day)
    services_import(
        actor=finance,
        data=mt940([(day, 100 * n, f"R{n}") for n in range(2, 9)], statement="Q2"),
    )
    second = BankStatement.objects.get(statement_id__startswith="Q2")
    assert Break.objects.count() > 3
    large = (
        _queries(api, f"{P}/breaks"),
        _queries(api, f"{P}/statements"),
        _queries(api, f"{P}/statements/{second.pk}"),
    )
    assert large == small


def test_console_profile_create__direction_skip_rules_and_footer(console):
    data = {
        "name": "wallet",
        "label": "Wallet",
        "encodings": "utf-8-sig, gb18030",
        "delimiter": ",",
        "header_contains": "交易时间, 收/支, 金额",
        "date_column": "交易时间",
        "date_formats": "%Y-%m-%d",
        "amount_column": "金额",
        "default_currency": "CNY",
        "direction_column": "收/支",
        "direction_in": "收入",
        "direction_out": "支出",
        "skip_rows": "收/支=不计收支|中性交易\n交易状态=交易关闭",
        "footer_markers": "合计, ------",
    }
    response = console.post(reverse("reconciliation:profile-create"), data)
    assert response.status_code == 302, response.context["form"].errors
    definition = CsvProfileRecord.objects.get().definition
    assert (definition["direction_column"], definition["direction_in"]) == ("收/支", ["收入"])
    assert definition["skip_rows"] == {"收/支": ["不计收支", "中性交易"], "交易状态": ["交易关闭"]}
    assert definition["footer_markers"] == ["合计", "------"]
