"""API of the ledger: posting one transfer or a batch, replays, validation errors, holds,
reversals, accounts with balances, statements (JSON/PDF/XLSX), trial balance, periods, scope."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.test import Client
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.ledger import selectors, services
from cpms.ledger.checks import ledger_check
from cpms.ledger.models import Account, PeriodClose, Transfer
from cpms.users.choices import Role


def _api(user, token_for) -> Client:
    token = token_for(user, scopes=["ledger:write"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def _post(client: Client, path: str, data) -> object:
    return client.post(
        f"/api/v1/ledger{path}", data=json.dumps(data, default=str), content_type="application/json"
    )


def _state() -> tuple[int, int]:
    # ledger audit entries only (a token's first use is recorded too)
    return Transfer.objects.count(), AuditEntry.objects.filter(action__startswith="ledger.").count()


@pytest.fixture
def far_finance(make_user, db):
    from cpms.users import services as user_services

    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far)


def test_api_transfer_post__single_posts_and_returns_201(finance, bank, cash, token_for):
    response = _post(
        _api(finance, token_for),
        "/transfers",
        {
            "debit_account": bank.code,
            "credit_account": str(cash.pk),
            "amount_minor": 12345,
            "reference": "DEP-1",
            "idempotency_key": "api:1",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["replayed"] is False
    assert body["approval_request_ids"] == []
    [transfer] = body["transfers"]
    assert transfer["debit_account"] == bank.code
    assert transfer["credit_account"] == cash.code
    assert transfer["amount_minor"] == 12345
    assert transfer["asset"] == "CNY"
    assert transfer["kind"] == "posted"
    assert transfer["state"] is None
    assert selectors.account_balance(cash).posted == 12345


def test_api_transfer_post__replay_answers_200_and_posts_nothing(finance, bank, cash, token_for):
    client = _api(finance, token_for)
    data = {
        "debit_account": bank.code,
        "credit_account": cash.code,
        "amount_minor": 500,
        "idempotency_key": "api:replay",
    }
    first = _post(client, "/transfers", data)
    before = _state()

    again = _post(client, "/transfers", data)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["transfers"][0]["id"] == first.json()["transfers"][0]["id"]
    assert _state() == before
    assert selectors.account_balance(cash).posted == 500


def test_api_transfer_post__batch_posts_all(finance, bank, cash, other_cash, token_for):
    response = _post(
        _api(finance, token_for),
        "/transfers",
        {
            "reason": "payroll",
            "transfers": [
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 100},
                {"debit_account": bank.code, "credit_account": other_cash.code, "amount_minor": 7},
            ],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert [t["amount_minor"] for t in body["transfers"]] == [100, 7]
    assert body["transfers"][0]["batch"] == body["transfers"][1]["batch"] is not None
    assert selectors.account_balance(other_cash).posted == 7
    assert AuditEntry.objects.filter(action="ledger.batch_posted").count() == 1


def test_api_transfer_post__batch_refused_as_a_whole_naming_the_row(
    finance, bank, cash, fees, token_for
):
    before = _state()
    response = _post(
        _api(finance, token_for),
        "/transfers",
        {
            "transfers": [
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 100},
                {"debit_account": bank.code, "credit_account": "NOPE", "amount_minor": 1},
            ]
        },
    )

    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"transfers[1].credit_account": "No account NOPE."}
    assert _state() == before


def test_api_transfer_post__validation_errors_name_fields(finance, bank, cash, token_for):
    client = _api(finance, token_for)
    before = _state()

    single = _post(client, "/transfers", {"debit_account": bank.code, "amount_minor": 0})
    batch = _post(
        client,
        "/transfers",
        {
            "transfers": [
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1},
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": -5},
            ]
        },
    )
    not_json = client.post("/api/v1/ledger/transfers", data="{", content_type="application/json")
    unknown = _post(client, "/transfers", {"transfers": [], "colour": "red"})

    assert single.status_code == 422
    assert set(single.json()["error"]["fields"]) == {"credit_account", "amount_minor"}
    assert batch.status_code == 422
    assert list(batch.json()["error"]["fields"]) == ["transfers[1].amount_minor"]
    assert not_json.status_code == 422
    assert not_json.json()["error"]["fields"] == {"request": "Send JSON."}
    assert unknown.status_code == 422
    assert list(unknown.json()["error"]["fields"]) == ["colour"]
    assert _state() == before


@pytest.mark.parametrize("body", ["", "[]", "5", "null", '"text"'], ids=repr)
def test_api_transfer_post__body_of_neither_shape_is_422_naming_request(finance, token_for, body):
    before = _state()

    response = _api(finance, token_for).post(
        "/api/v1/ledger/transfers", data=body, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "validation_failed",
        "message": "The input is not valid.",
        "fields": {"request": 'Send one transfer object or {"transfers": [...]}.'},
    }
    assert _state() == before


def test_api_transfer_post__permission_is_checked_before_the_body_is_read(rm, token_for):
    # a caller without ledger.post learns nothing about what was wrong with the body
    response = _post(_api(rm, token_for), "/transfers", {"transfers": "not a list", "x": 1})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_api_transfer_post__batch_above_8190_is_422(finance, bank, cash, token_for):
    item = {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1}
    before = _state()

    response = _post(_api(finance, token_for), "/transfers", {"transfers": [item] * 8191})

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"transfers": "At most 8190 transfers per batch."}
    assert _state() == before


def test_api_transfer_post__insufficient_funds_is_409(finance, cash, fees, token_for):
    response = _post(
        _api(finance, token_for),
        "/transfers",
        {"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 1},
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ledger.insufficient_funds"
    assert Transfer.objects.count() == 0


def test_api_transfer_post__above_threshold_is_held_for_approval(finance, bank, cash, token_for):
    response = _post(
        _api(finance, token_for),
        "/transfers",
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 5_000_001},
    )

    assert response.status_code == 201
    body = response.json()
    assert len(body["approval_request_ids"]) == 1
    assert body["transfers"][0]["kind"] == "pending"
    assert body["transfers"][0]["state"] == "pending"
    assert body["transfers"][0]["approval_request_id"] == body["approval_request_ids"][0]
    holds = _api(finance, token_for).get("/api/v1/ledger/holds?awaiting_approval=true").json()
    assert [item["id"] for item in holds["items"]] == [body["transfers"][0]["id"]]


def test_api_transfer_get__hold_state_and_links(finance, cash, fees, fund, token_for):
    fund(cash, 1000)
    hold = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 300,
            "pending": True,
        },
    ).transfer
    client = _api(finance, token_for)

    pending = client.get(f"/api/v1/ledger/transfers/{hold.pk}").json()
    plain = client.get("/api/v1/ledger/holds?awaiting_approval=false").json()
    account = client.get(f"/api/v1/ledger/accounts/{cash.code}").json()
    posted = _post(client, f"/holds/{hold.pk}/post", {"reason": "ok"})

    assert pending["state"] == "pending"
    assert pending["resolution_id"] is None
    assert [item["id"] for item in plain["items"]] == [hold.pk]
    assert account["balance"] == {
        "posted_minor": 1000,
        "pending_debits_minor": 300,
        "pending_credits_minor": 0,
        "available_minor": 700,
        "debits_posted_minor": 0,
        "credits_posted_minor": 1000,
    }
    assert posted.status_code == 200
    assert posted.json()["state"] == "posted"
    assert posted.json()["resolution_id"] == Transfer.objects.get(pending=hold).pk
    assert selectors.account_balance(cash).posted == 700


def test_api_hold_void__needs_reason_then_voids(finance, cash, fees, fund, token_for):
    fund(cash, 1000)
    hold = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 300,
            "pending": True,
        },
    ).transfer
    client = _api(finance, token_for)

    refused = _post(client, f"/holds/{hold.pk}/void", {"reason": ""})
    voided = _post(client, f"/holds/{hold.pk}/void", {"reason": "customer cancelled"})

    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"reason": "Give a reason."}
    assert voided.json()["state"] == "voided"
    assert selectors.account_balance(cash).available == 1000


def test_api_transfer_reverse__201_then_replay_200(finance, cash, fund, token_for):
    deposit = fund(cash, 400, reference="DEP-4")
    client = _api(finance, token_for)

    first = _post(client, f"/transfers/{deposit.pk}/reverse", {"reason": "wrong customer"})
    again = _post(client, f"/transfers/{deposit.pk}/reverse", {"reason": "wrong customer"})
    detail = client.get(f"/api/v1/ledger/transfers/{deposit.pk}").json()

    assert first.status_code == 201
    assert first.json()["transfers"][0]["reverses_id"] == deposit.pk
    assert first.json()["transfers"][0]["reference"] == "REV DEP-4"
    assert again.status_code == 200
    assert detail["reversed_by_id"] == first.json()["transfers"][0]["id"]
    assert selectors.account_balance(cash).posted == 0


def test_api_transfer_list__filters_and_keyset_pages(finance, cash, other_cash, fund, token_for):
    for amount in (1, 2, 3):
        fund(cash, amount)
    fund(other_cash, 9)
    client = _api(finance, token_for)

    first = client.get(f"/api/v1/ledger/transfers?account={cash.code}&limit=2").json()
    second = client.get(
        f"/api/v1/ledger/transfers?account={cash.code}&limit=2&cursor={first['next_cursor']}"
    ).json()

    assert [item["amount_minor"] for item in first["items"]] == [3, 2]
    assert [item["amount_minor"] for item in second["items"]] == [1]
    assert second["next_cursor"] is None


def test_api_accounts__list_open_and_get(finance, customer, bank, cash, fund, token_for):
    fund(cash, 250)
    client = _api(finance, token_for)

    listed = client.get(f"/api/v1/ledger/accounts?customer_id={customer.pk}").json()
    opened = _post(
        client,
        "/accounts",
        {"purpose": "customer_points", "asset": "PTS", "customer_id": customer.pk},
    )
    duplicate = _post(
        client,
        "/accounts",
        {"purpose": "customer_points", "asset": "PTS", "customer_id": customer.pk},
    )
    by_id = client.get(f"/api/v1/ledger/accounts/{cash.pk}").json()
    missing = client.get("/api/v1/ledger/accounts/NO-SUCH")

    assert [(item["code"], item["balance"]["posted_minor"]) for item in listed["items"]] == [
        (cash.code, 250)
    ]
    assert opened.status_code == 201
    assert opened.json()["code"] == f"C{customer.pk}:CUSTOMER_POINTS:PTS"
    assert opened.json()["exponent"] == 0
    assert duplicate.status_code == 422
    assert list(duplicate.json()["error"]["fields"]) == ["purpose"]
    assert by_id["code"] == cash.code
    assert by_id["balance"]["available_minor"] == 250
    assert missing.status_code == 404


def test_api_scope__other_branch_sees_customer_accounts_as_missing(
    far_finance, bank, cash, fund, token_for
):
    fund(cash, 10)
    client = _api(far_finance, token_for)
    today = timezone.localdate().isoformat()
    before = _state()

    account = client.get(f"/api/v1/ledger/accounts/{cash.code}")
    statement = client.get(
        f"/api/v1/ledger/accounts/{cash.pk}/statement?start={today}&end={today}&format=pdf"
    )
    post = _post(
        client,
        "/transfers",
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1},
    )
    internal = client.get(f"/api/v1/ledger/accounts/{bank.code}")

    assert account.status_code == 404
    assert statement.status_code == 404
    assert post.status_code == 404
    assert internal.status_code == 200
    assert _state() == before


def test_api_forbidden__relationship_manager_gets_403(rm, cash, token_for):
    response = _api(rm, token_for).get("/api/v1/ledger/accounts")

    assert response.status_code == 403


def test_api_statement__json_lines_and_balances(finance, cash, fees, fund, token_for):
    day = timezone.localdate()
    earlier = day - datetime.timedelta(days=10)
    first = fund(cash, 10000, value_date=earlier.isoformat(), reference="OPEN")
    deposit = fund(cash, 2550, reference="DEP")
    fee = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 125,
            "reference": "FEE",
        },
    ).transfer
    start = (day - datetime.timedelta(days=2)).isoformat()

    body = (
        _api(finance, token_for)
        .get(f"/api/v1/ledger/accounts/{cash.pk}/statement?start={start}&end={day.isoformat()}")
        .json()
    )

    assert first.pk
    assert body["opening_minor"] == 10000
    assert body["closing_minor"] == 12425
    assert body["total_debits_minor"] == 125
    assert body["total_credits_minor"] == 2550
    assert [
        (line["transfer_id"], line["debit_minor"], line["credit_minor"], line["balance_minor"])
        for line in body["lines"]
    ] == [(deposit.pk, 0, 2550, 12550), (fee.pk, 125, 0, 12425)]
    assert body["lines"][1]["counterparty"] == fees.code
    assert AuditEntry.objects.filter(action="ledger.statement_exported").count() == 0


def test_api_statement__bad_period_names_field(finance, cash, token_for):
    client = _api(finance, token_for)

    reversed_period = client.get(
        f"/api/v1/ledger/accounts/{cash.pk}/statement?start=2026-02-01&end=2026-01-01"
    )
    bad_format = client.get(
        f"/api/v1/ledger/accounts/{cash.pk}/statement?start=2026-01-01&end=2026-01-31&format=doc"
    )

    assert reversed_period.status_code == 422
    assert list(reversed_period.json()["error"]["fields"]) == ["end"]
    assert bad_format.status_code == 422
    assert list(bad_format.json()["error"]["fields"]) == ["format"]


def test_api_statement__pdf_and_xlsx_files_are_audited(finance, cash, fund, token_for):
    from openpyxl import load_workbook
    from pypdf import PdfReader

    fund(cash, 123456, reference="DEP-PDF")
    day = timezone.localdate().isoformat()
    client = _api(finance, token_for)
    path = f"/api/v1/ledger/accounts/{cash.code}/statement?start={day}&end={day}"

    pdf = client.get(f"{path}&format=pdf")
    xlsx = client.get(f"{path}&format=xlsx")

    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="statement-C')
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "1,234.56" in text and "DEP-PDF" in text
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert any(row[1] == cash.code for row in sheet.iter_rows(max_row=8, values_only=True))
    entries = AuditEntry.objects.filter(action="ledger.statement_exported").order_by("pk")
    assert [entry.after["format"] for entry in entries] == ["pdf", "xlsx"]
    assert entries[0].object_id == str(cash.pk)


def test_api_trial_balance__per_asset_totals_balance(finance, cash, fees, fund, token_for):
    fund(cash, 1000)
    services.transfer_post(
        actor=finance,
        data={"debit_account": cash.code, "credit_account": fees.code, "amount_minor": 40},
    )

    body = _api(finance, token_for).get("/api/v1/ledger/trial-balance").json()

    assert body["assets"] == [
        {
            "asset": "CNY",
            "exponent": 2,
            "accounts": 3,
            "debits_minor": 1040,
            "credits_minor": 1040,
            "balanced": True,
        }
    ]
    assert {row["code"]: row["net_debit_minor"] for row in body["rows"]} == {
        "INT:CLIENT_BANK:CNY": 1000,
        "INT:FEES:CNY": -40,
        cash.code: -960,
    }


def test_api_periods__close_and_list(finance, rm, token_for):
    through = timezone.localdate() - datetime.timedelta(days=1)
    client = _api(finance, token_for)

    denied = _post(_api(rm, token_for), "/periods/close", {"through": through.isoformat()})
    closed = _post(client, "/periods/close", {"through": through.isoformat(), "reason": "EOM"})
    again = _post(client, "/periods/close", {"through": through.isoformat()})
    listed = client.get("/api/v1/ledger/periods").json()

    assert denied.status_code == 403
    assert closed.status_code == 201
    assert closed.json()["through"] == through.isoformat()
    assert closed.json()["closed_by"] == finance.username
    assert again.status_code == 422
    assert list(again.json()["error"]["fields"]) == ["through"]
    assert [item["through"] for item in listed] == [through.isoformat()]
    assert PeriodClose.objects.count() == 1
    assert ledger_check().ok
    assert Account.objects.count() == 0


def test_api_accounts__all_scope_auditor_sees_customer_accounts(make_user, cash, fund, token_for):
    fund(cash, 10)
    auditor = make_user(Role.AUDITOR, username="auditor-all")

    response = _api(auditor, token_for).get(f"/api/v1/ledger/accounts/{cash.pk}")

    assert response.status_code == 200
    assert response.json()["balance"]["posted_minor"] == 10
