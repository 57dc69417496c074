"""Console pages of the ledger: render for a finance officer, refused to others, forms post
through the services and put refusals next to the fields."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.ledger import selectors, services
from cpms.ledger.models import PeriodClose, Transfer
from cpms.users.choices import Role


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _ledger_state() -> tuple[int, int]:
    return Transfer.objects.count(), AuditEntry.objects.filter(action__startswith="ledger.").count()


@pytest.fixture
def far_finance(make_user, db):
    from cpms.users import services as user_services

    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far)


@pytest.fixture
def hold(finance, cash, fees, fund):
    fund(cash, 10_000, reference="DEP-C")
    return services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 2_500,
            "pending": True,
            "reference": "HOLD-C",
        },
    ).transfer


def test_console_pages__render_for_finance_officer(finance, cash, hold):
    client = _client(finance)
    deposit = Transfer.objects.get(reference="DEP-C")
    name = cash.customer.legal_name
    pages = {
        reverse("ledger:accounts"): [name, "100.00 CNY", "75.00 CNY", "1–3 of 3"],
        reverse("ledger:account", args=[cash.pk]): [name, "HOLD-C", "DEP-C", "75.00 CNY"],
        reverse("ledger:transfers"): ["DEP-C", "HOLD-C", "25.00 CNY", name],
        reverse("ledger:transfer", args=[deposit.pk]): ["DEP-C", "Reverse"],
        reverse("ledger:transfer", args=[hold.pk]): ["Pending", "Post the hold", "Void the hold"],
        reverse("ledger:transfer-new"): ["Post a transfer", "idempotency_key"],
        reverse("ledger:reverse", args=[deposit.pk]): ["Reverse transfer"],
        reverse("ledger:holds"): ["HOLD-C", "Nothing awaits approval."],
        reverse("ledger:periods"): ["The books have never been closed."],
        reverse("ledger:trial-balance"): ["Balanced", "CNY"],
        reverse("ledger:statement", args=[cash.pk]): ["DEP-C", "Download PDF", "Download XLSX"],
    }
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        for fragment in expected:
            assert fragment in text, (url, fragment)


def test_console_pages__forbidden_to_relationship_manager(rm, cash, hold):
    client = _client(rm)
    for url in (
        reverse("ledger:accounts"),
        reverse("ledger:account", args=[cash.pk]),
        reverse("ledger:transfers"),
        reverse("ledger:holds"),
        reverse("ledger:trial-balance"),
        reverse("ledger:periods"),
        reverse("ledger:transfer-new"),
    ):
        assert client.get(url).status_code == 403, url
    before = _ledger_state()
    assert client.post(reverse("ledger:hold-post", args=[hold.pk])).status_code == 403
    assert _ledger_state() == before


def test_console_account__other_branch_gets_404(far_finance, cash, hold):
    client = _client(far_finance)

    assert client.get(reverse("ledger:account", args=[cash.pk])).status_code == 404
    assert client.get(reverse("ledger:statement", args=[cash.pk])).status_code == 404
    assert client.get(reverse("ledger:statement-file", args=[cash.pk, "pdf"])).status_code == 404
    before = _ledger_state()
    assert client.post(reverse("ledger:hold-post", args=[hold.pk])).status_code == 404
    assert _ledger_state() == before


def test_console_transfer_create__posts_major_units_exactly(finance, bank, cash):
    client = _client(finance)
    form = client.get(reverse("ledger:transfer-new"))
    key = form.context["form"].initial["idempotency_key"]
    data = {
        "debit_account": bank.pk,
        "credit_account": cash.pk,
        "amount": "1,234.56",
        "reference": "CONSOLE-1",
        "idempotency_key": key,
    }

    response = client.post(reverse("ledger:transfer-new"), data)
    again = client.post(reverse("ledger:transfer-new"), data)

    transfer = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("ledger:transfer", args=[transfer.pk])
    assert again["Location"] == response["Location"]
    assert transfer.amount == 123456
    assert transfer.idempotency_key == key
    assert selectors.account_balance(cash).posted == 123456


def test_console_transfer_create__errors_next_to_fields(finance, bank, cash, fees):
    client = _client(finance)
    base = {"credit_account": cash.pk, "idempotency_key": "console:x"}
    before = _ledger_state()

    too_precise = client.post(
        reverse("ledger:transfer-new"), {**base, "debit_account": bank.pk, "amount": "1.005"}
    )
    unknown = client.post(
        reverse("ledger:transfer-new"), {**base, "debit_account": "999999", "amount": "1"}
    )
    overdraft = client.post(
        reverse("ledger:transfer-new"),
        {
            "debit_account": cash.pk,
            "credit_account": fees.pk,
            "amount": "1",
            **{"idempotency_key": "console:y"},
        },
    )

    assert too_precise.status_code == 200
    assert too_precise.context["form"].errors == {
        "amount": ["CNY has 2 decimal places: enter at most 2."]
    }
    assert unknown.context["form"].errors == {
        "debit_account": ["Not found: search again and pick one from the list."]
    }
    assert overdraft.context["form"].non_field_errors() == [
        f"Account {cash.code} would go 1.00 CNY below zero."
    ]
    assert _ledger_state() == before


def test_console_hold__post_and_void_buttons(finance, cash, fees, hold):
    client = _client(finance)
    other = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": fees.code,
            "amount_minor": 500,
            "pending": True,
        },
    ).transfer

    posted = client.post(reverse("ledger:hold-post", args=[hold.pk]))
    refused = client.post(reverse("ledger:hold-void", args=[other.pk]), {"reason": ""})
    voided = client.post(reverse("ledger:hold-void", args=[other.pk]), {"reason": "duplicate"})

    assert posted.status_code == 302
    assert selectors.hold_state(hold) == "posted"
    assert refused.status_code == 302
    assert voided.status_code == 302
    assert selectors.hold_state(other) == "voided"
    assert selectors.account_balance(cash).posted == 7_500
    assert selectors.account_balance(cash).available == 7_500


def test_console_reverse__needs_reason_then_links(finance, cash, fund):
    deposit = fund(cash, 300, reference="DEP-R")
    client = _client(finance)

    empty = client.post(reverse("ledger:reverse", args=[deposit.pk]), {"reason": ""})
    done = client.post(reverse("ledger:reverse", args=[deposit.pk]), {"reason": "wrong account"})

    reversal = Transfer.objects.get(reverses=deposit)
    assert empty.status_code == 200
    assert "reason" in empty.context["form"].errors
    assert done["Location"] == reverse("ledger:transfer", args=[reversal.pk])
    page = client.get(reverse("ledger:transfer", args=[deposit.pk])).content.decode()
    assert f"#{reversal.pk}" in page
    assert ">Reverse<" not in page


def test_console_period_close__closes_and_refuses_again(finance, rm):
    through = timezone.localdate() - datetime.timedelta(days=1)
    client = _client(finance)

    done = client.post(reverse("ledger:periods"), {"through": through.isoformat(), "reason": "M"})
    again = client.post(reverse("ledger:periods"), {"through": through.isoformat()})

    assert done.status_code == 302
    assert PeriodClose.objects.get().through == through
    assert again.status_code == 200
    assert list(again.context["form"].errors) == ["through"]


def test_console_statement__files_download_and_are_audited(finance, cash, fund):
    fund(cash, 9_900, reference="DEP-S")
    client = _client(finance)
    day = timezone.localdate().isoformat()
    query = f"?start={day}&end={day}"

    pdf = client.get(reverse("ledger:statement-file", args=[cash.pk, "pdf"]) + query)
    xlsx = client.get(reverse("ledger:statement-file", args=[cash.pk, "xlsx"]) + query)
    bad = client.get(reverse("ledger:statement-file", args=[cash.pk, "doc"]) + query)

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert bad.status_code == 302
    assert AuditEntry.objects.filter(action="ledger.statement_exported").count() == 2


def test_console_transfers__filter_by_account_and_unknown_account(finance, cash, other_cash, fund):
    fund(cash, 100, reference="MINE")
    fund(other_cash, 200, reference="THEIRS")
    client = _client(finance)

    filtered = client.get(reverse("ledger:transfers"), {"account": cash.pk})
    unknown = client.get(reverse("ledger:transfers"), {"account": "NOPE"})

    assert [row["transfer"].reference for row in filtered.context["rows"]] == ["MINE"]
    assert unknown.status_code == 200
    assert unknown.context["rows"] == []
    assert unknown.context["form"].errors == {
        "account": ["Not found: search again and pick one from the list."]
    }
