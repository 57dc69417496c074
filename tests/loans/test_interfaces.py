"""Loan servicing through the API, the console, the CLI, the daily job and the demo."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from cpms.ledger.checks import ledger_check
from cpms.ledger.models import Transfer
from cpms.loans import demo, services
from cpms.loans.models import LoanAccrual, LoanRepayment, LoanServicing
from tests.loans.conftest import START

D = datetime.date


@pytest.fixture
def api(finance, token_for):
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(finance, scopes=['ledger:write'])}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.fixture
def console(finance):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(finance)
    return client


def _post(client, path, body):
    return client.post(path, data=body, content_type="application/json")


# ------------------------------------------------------------------ API


def test_api_loans__disburse_repay_detail(api, loan):
    response = _post(
        api, f"/api/v1/loans/{loan.pk}/disburse", {"value_date": "2026-01-15", "to": "client_bank"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["replayed"] is False and len(body["transfer_ids"]) == 1
    assert body["loan"]["outstanding_principal_minor"] == 300_000
    response = _post(
        api,
        f"/api/v1/loans/{loan.pk}/repay",
        {"amount_minor": 103_058, "value_date": "2026-02-15", "source": "client_bank"},
    )
    assert response.status_code == 200, response.content
    repayment = response.json()["repayment"]
    assert (repayment["interest_minor"], repayment["principal_minor"]) == (3_058, 100_000)
    response = api.get(f"/api/v1/loans/{loan.pk}?as_of=2026-03-20")
    assert response.status_code == 200
    detail = response.json()
    assert detail["days_past_due"] == 5 and detail["bucket"] == "1-30"
    first, second = detail["instalments"][:2]
    assert (first["paid_principal_minor"], first["paid_interest_minor"]) == (100_000, 3_058)
    assert first["outstanding_minor"] == 0 and first["days_past_due"] == 0
    assert second["due_on"] == "2026-03-15" and second["days_past_due"] == 5
    assert [r["sequence"] for r in detail["repayments"]] == [1]


def test_api_loans__list(api, loan, make_loan, finance):
    other = make_loan()
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    response = api.get("/api/v1/loans/?as_of=2026-03-20")
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert items[loan.pk]["bucket"] == "31-60" and items[loan.pk]["days_past_due"] == 33
    assert items[other.pk]["disbursed"] is False
    assert items[other.pk]["bucket"] == "not_disbursed"


def test_api_loans__overpayment_is_422_and_changes_nothing(api, loan, finance):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    count = Transfer.objects.count()
    response = _post(
        api,
        f"/api/v1/loans/{loan.pk}/repay",
        {"amount_minor": 999_999, "value_date": "2026-02-15", "source": "client_bank"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "loans.overpayment" and "amount_minor" in error["fields"]
    assert Transfer.objects.count() == count


def test_api_loans__early_repay(api, loan, finance):
    services.loan_disburse(actor=finance, holding=loan, value_date=START, to="client_bank")
    response = _post(
        api,
        f"/api/v1/loans/{loan.pk}/early-repay",
        {"value_date": "2026-01-25", "source": "client_bank", "fee_bps": 100},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["repayment"]["amount_minor"] == 303_986
    assert body["loan"]["state"] == "repaid"
    assert ledger_check().ok


def test_api_loans__not_disbursed_repay_is_409(api, loan):
    response = _post(api, f"/api/v1/loans/{loan.pk}/repay", {"amount_minor": 100})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "loans.not_disbursed"


def test_api_loans__read_scope_only_cannot_write(finance, token_for, loan):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(finance, scopes=['ledger:read'])}")
    response = _post(client, f"/api/v1/loans/{loan.pk}/disburse", {"value_date": "2026-01-15"})
    assert response.status_code == 403
    assert LoanServicing.objects.count() == 0


# ------------------------------------------------------------------ console


def test_console_loans__list_detail_and_overdue(console, finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    response = console.get(reverse("loans:list") + "?as_of=2026-03-20&bucket=31-60")
    assert response.status_code == 200
    assert loan.holding_number in response.content.decode()
    response = console.get(reverse("loans:list") + "?as_of=2026-03-20&bucket=90%2B")
    assert loan.holding_number not in response.content.decode()
    response = console.get(reverse("loans:detail", args=[loan.pk]) + "?as_of=2026-03-20")
    assert response.status_code == 200
    page = response.content.decode()
    assert "2026-02-15" in page and "3,000.00" in page
    response = console.get(reverse("loans:overdue") + "?as_of=2026-03-20")
    assert response.status_code == 200
    assert loan.holding_number in response.content.decode()


def test_console_loans__actions(console, loan):
    response = console.post(
        reverse("loans:disburse", args=[loan.pk]), {"value_date": "2026-01-15", "to": "client_bank"}
    )
    assert response.status_code == 302
    assert LoanServicing.objects.get().disbursed_on == START
    response = console.post(reverse("loans:accrue", args=[loan.pk]), {"as_of": "2026-02-01"})
    assert response.status_code == 302
    assert LoanAccrual.objects.count() == 1
    response = console.post(
        reverse("loans:repay", args=[loan.pk]),
        {"amount": "1,030.58", "value_date": "2026-02-15", "source": "client_bank", "prepay": "on"},
    )
    assert response.status_code == 302
    repayment = LoanRepayment.objects.get()
    assert (repayment.interest_minor, repayment.principal_minor) == (3_058, 100_000)
    response = console.post(
        reverse("loans:early-repay", args=[loan.pk]),
        {"value_date": "2026-02-20", "source": "client_bank"},
    )
    assert response.status_code == 302
    assert LoanServicing.objects.get().state == "repaid"
    assert ledger_check().ok


def test_console_loans__bad_amount_shows_error(console, finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    response = console.post(
        reverse("loans:repay", args=[loan.pk]),
        {"amount": "10.001", "value_date": "2026-02-15"},
        follow=True,
    )
    assert "CNY has 2 decimal places: enter at most 2." in response.content.decode()
    assert LoanRepayment.objects.count() == 0


def test_console_loans__denied_without_permission(rm, loan):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(rm)
    assert client.get(reverse("loans:list")).status_code == 403
    response = client.post(reverse("loans:disburse", args=[loan.pk]), {"value_date": "2026-01-15"})
    assert response.status_code == 403
    assert LoanServicing.objects.count() == 0


# ------------------------------------------------------------------ CLI and job


def test_cli_loans_accrue__idempotent(capsys, finance, loan):
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    call_command("loans", "accrue", "--as-of", "2026-02-01")
    assert "1 loan(s) accrued; 1677 minor units" in capsys.readouterr().out
    call_command("loans", "accrue", "--as-of", "2026-02-01")
    assert "0 loan(s) accrued; 0 minor units" in capsys.readouterr().out


def test_cli_loans_accrue__bad_date():
    with pytest.raises(CommandError, match="--as-of"):
        call_command("loans", "accrue", "--as-of", "2026-13-01")


def test_task_accrue_loan_interest__runs(finance, loan):
    from cpms.loans.tasks import accrue_loan_interest

    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    accrue_loan_interest.call_local()
    assert LoanServicing.objects.get().accrued_through > START


# ------------------------------------------------------------------ demo


def _demo_loans(rm, customer):
    from cpms.holdings.services import holding_register

    for number, start in enumerate((D(2026, 1, 10), D(2026, 2, 10), D(2026, 3, 10)), 1):
        holding_register(
            actor=rm,
            customer=customer,
            kind="loan",
            identifier=f"DEMO-LN-{number}",
            details={
                "principal_minor": 1_200_000,
                "currency": "CNY",
                "annual_rate_percent": "3.45",
                "term_months": 36,
                "method": "equal_instalment",
                "start_date": start,
            },
        )


def test_demo_load__idempotent(finance, customer, rm):
    import random

    _demo_loans(rm, customer)
    created = demo.load(rng=random.Random(1), options={})
    assert any("repaid early" in line for line in created)
    assert demo.load(rng=random.Random(1), options={}) == []
    from cpms.loans import selectors

    rows = {row.holding.identifier: row for row in selectors.loan_list(finance)}
    assert rows["DEMO-LN-1"].position.days_past_due > 30
    assert rows["DEMO-LN-2"].servicing.state == "repaid"
    assert rows["DEMO-LN-3"].position.days_past_due == 0
    assert ledger_check().ok


def test_demo_load__skips_loans_in_a_closed_period(finance, customer, rm):
    import random

    from cpms.ledger.services import period_close

    _demo_loans(rm, customer)
    period_close(actor=finance, through=D(2026, 1, 31), reason="test")
    demo.load(rng=random.Random(1), options={})
    serviced = set(LoanServicing.objects.values_list("holding__identifier", flat=True))
    assert serviced == {"DEMO-LN-2", "DEMO-LN-3"}
    assert ledger_check().ok


def test_console_loans__bucket_shown_by_its_name(console, finance, loan):
    # the days-past-due bucket reads "未逾期", not the stored code "current"
    services.loan_disburse(actor=finance, holding=loan, value_date=START)
    detail = console.get(
        reverse("loans:detail", args=[loan.pk]) + f"?as_of={START.isoformat()}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    text = detail.content.decode()
    assert "(未逾期)" in text and "(current)" not in text
