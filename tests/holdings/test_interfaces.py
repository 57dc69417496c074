"""Console pages, the customer tab, the CLI and the demo of the property register."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.holdings import services
from cpms.holdings.models import (
    AccountDetail,
    Holding,
    InstrumentPrice,
    LoanInstalment,
    PortfolioPosition,
)
from cpms.privacy.protected import pii_read
from tests.holdings.conftest import CARD, account_details, loan_details


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


# console -----------------------------------------------------------------------------------


def test_console__register_a_loan_and_see_its_schedule(rm1_client, customer):
    client = english(rm1_client)
    chooser = client.get(reverse("holdings:create"))
    assert chooser.status_code == 200
    assert b"?kind=loan" in chooser.content

    response = client.post(
        reverse("holdings:create") + "?kind=loan",
        {
            "kind": "loan",
            "customer": customer.pk,
            "identifier": "HD-2026-1",
            "description": "房贷",
            "currency": "CNY",
            "details-principal": "1200.00",
            "details-currency": "CNY",
            "details-annual_rate_percent": "12",
            "details-term_months": "12",
            "details-method": "equal_principal",
            "details-start_date": "2026-01-31",
        },
    )

    holding = Holding.objects.get(identifier="HD-2026-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("holdings:detail", kwargs={"pk": holding.pk})
    assert LoanInstalment.objects.filter(loan__holding=holding).count() == 12
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Repayment schedule" in page.content.decode()
    assert "1,100.00" in page.content.decode()  # balance after the first line


def test_console__register_account_masks_the_number(rm1_client, customer):
    client = english(rm1_client)
    response = client.post(
        reverse("holdings:create"),
        {
            "kind": "account",
            "customer": customer.pk,
            "currency": "CNY",
            "details-account_type": "card",
            "details-institution": "招商银行",
            "details-number": CARD,
        },
    )

    holding = Holding.objects.get(kind="account")
    assert response.status_code == 302
    page = client.get(reverse("holdings:detail", kwargs={"pk": holding.pk}))
    assert CARD not in page.content.decode()
    assert "0128" in page.content.decode()


def test_console__create_errors_are_shown_and_nothing_written(rm1_client, customer, rm2):
    client = english(rm1_client)
    before = (Holding.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())

    unknown = client.post(
        reverse("holdings:create"),
        {
            "kind": "contract",
            "customer": "99999999",
            "currency": "CNY",
            "details-contract_number": "X",
            "details-counterparty": "Y",
        },
    )
    bad_number = client.post(
        reverse("holdings:create"),
        {
            "kind": "account",
            "customer": customer.pk,
            "currency": "CNY",
            "details-account_type": "card",
            "details-institution": "X",
            "details-number": "12ab",
        },
    )

    assert unknown.status_code == 200
    assert "Not found: search again and pick one from the list." in unknown.content.decode()
    assert bad_number.status_code == 200
    assert "A bank card number has digits only." in bad_number.content.decode()
    assert bad_number.context["details_form"].errors == {
        "number": ["A bank card number has digits only."]
    }
    assert (
        Holding.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_console__refused_identifier_is_shown_next_to_it(rm1_client, customer):
    client = english(rm1_client)
    data = {
        "kind": "contract",
        "customer": customer.pk,
        "identifier": "C-2026-7",
        "currency": "CNY",
        "details-contract_number": "C-2026-7",
        "details-counterparty": "Y",
    }
    assert client.post(reverse("holdings:create") + "?kind=contract", data).status_code == 302

    again = client.post(reverse("holdings:create") + "?kind=contract", data)

    assert again.status_code == 200
    assert again.context["form"].errors == {"identifier": ["Already registered for this customer."]}


def test_console__list_search_and_scope(rm1_client, rm1, rm2, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="HT-77", description="租约"
    )
    client = english(rm1_client)

    page = client.get(reverse("holdings:list"), {"q": "租约"})
    assert page.status_code == 200
    assert holding.holding_number in page.content.decode()
    other = english(Client())
    other.force_login(rm2)
    assert holding.holding_number not in other.get(reverse("holdings:list")).content.decode()
    detail = reverse("holdings:detail", kwargs={"pk": holding.pk})
    assert other.get(detail).status_code == 404


def test_console__edit_revalue_status_positions(rm1_client, rm1, customer):
    client = english(rm1_client)
    loan = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )
    edit = client.post(
        reverse("holdings:edit", kwargs={"pk": loan.pk}),
        {
            "description": "改",
            "location": "",
            "details-principal": "1200",
            "details-currency": "CNY",
            "details-annual_rate_percent": "12",
            "details-term_months": "6",
            "details-method": "equal_principal",
            "details-start_date": "2026-01-31",
        },
    )
    assert edit.status_code == 302
    assert LoanInstalment.objects.filter(loan__holding=loan).count() == 6

    revalue = client.post(
        reverse("holdings:revalue", kwargs={"pk": loan.pk}),
        {"value": "999.99", "currency": "CNY", "valued_on": "2026-02-01", "source": "评估"},
    )
    assert revalue.status_code == 302
    assert Holding.objects.get(pk=loan.pk).value_minor == 99_999

    status = client.post(
        reverse("holdings:status", kwargs={"pk": loan.pk}), {"status": "suspended"}
    )
    assert status.status_code == 302
    assert Holding.objects.get(pk=loan.pk).status == "suspended"

    portfolio = services.holding_register(
        actor=rm1, customer=customer, kind="portfolio", identifier="PF", details={}
    )
    added = client.post(
        reverse("holdings:position-add", kwargs={"pk": portfolio.pk}),
        {
            "instrument_code": "600519",
            "asset_class": "equity",
            "quantity": "2",
            "cost": "3000",
            "currency": "CNY",
        },
    )
    assert added.status_code == 302
    position = PortfolioPosition.objects.get()
    assert position.cost_minor == 300_000
    page = client.get(reverse("holdings:detail", kwargs={"pk": portfolio.pk}))
    assert "600519" in page.content.decode()
    removed = client.post(
        reverse("holdings:position-remove", kwargs={"pk": portfolio.pk, "position_id": position.pk})
    )
    assert removed.status_code == 302
    assert PortfolioPosition.objects.count() == 0


def test_console__account_edit_keeps_the_number_when_left_empty(rm1_client, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="account", details=account_details()
    )
    response = english(rm1_client).post(
        reverse("holdings:edit", kwargs={"pk": holding.pk}),
        {
            "description": "新描述",
            "location": "",
            "details-account_type": "card",
            "details-institution": "中国银行",
            "details-number": "",
        },
    )
    assert response.status_code == 302
    account = AccountDetail.objects.get(holding=holding)
    assert account.institution == "中国银行"
    assert pii_read(account, "number") == CARD


def test_console__prices_import(rm1_client):
    client = english(rm1_client)
    upload = SimpleUploadedFile(
        "p.csv", b"instrument_code,price,priced_on\n600519,1500,2026-01-05\n"
    )
    response = client.post(reverse("holdings:prices-import"), {"file": upload, "source": "sse"})
    assert response.status_code == 200
    assert InstrumentPrice.objects.get().source == "sse"
    bad = client.post(
        reverse("holdings:prices-import"),
        {"file": SimpleUploadedFile("p.csv", b"instrument_code,price,priced_on\nA,x,2026-01-05\n")},
    )
    assert "Row 2, column price" in bad.content.decode()
    assert "row 2.price" not in bad.content.decode()
    assert InstrumentPrice.objects.count() == 1


def test_console__customer_property_tab(rm1_client, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="HT-1"
    )
    page = english(rm1_client).get(
        reverse("customers:detail", kwargs={"pk": customer.pk}), {"tab": "property"}
    )
    assert page.status_code == 200
    assert holding.holding_number in page.content.decode()


# CLI ---------------------------------------------------------------------------------------


def test_cli__list_is_scoped(rm1, rm2, customer):
    services.holding_register(actor=rm1, customer=customer, kind="contract", identifier="HT-1")
    mine, theirs = StringIO(), StringIO()

    call_command("holdings", "--actor", "rm1", "list", stdout=mine, stderr=StringIO())
    call_command("holdings", "--actor", "rm2", "list", stdout=theirs, stderr=StringIO())

    assert "HT-1" in mine.getvalue()
    assert customer.customer_number in mine.getvalue()
    assert theirs.getvalue() == ""
    with pytest.raises(CommandError, match="in your scope"):
        call_command(
            "holdings",
            "--actor",
            "rm2",
            "list",
            "--customer",
            customer.customer_number,
            stdout=StringIO(),
            stderr=StringIO(),
        )


def test_cli__prices_import(rm1, tmp_path, finance):
    path = tmp_path / "prices.csv"
    path.write_bytes(b"instrument_code,price,priced_on\n600519,1500,2026-01-05\n")
    out = StringIO()

    call_command("holdings", "--actor", "rm1", "prices-import", str(path), stdout=out)

    assert out.getvalue().strip() == "1 row(s): 1 new, 0 changed, 0 unchanged."
    with pytest.raises(CommandError, match="permission"):
        call_command("holdings", "--actor", "finance1", "prices-import", str(path))
    with pytest.raises(CommandError, match="No active user"):
        call_command("holdings", "--actor", "nobody", "prices-import", str(path))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"instrument_code,price\n")
    with pytest.raises(CommandError, match="priced_on"):
        call_command("holdings", "--actor", "rm1", "prices-import", str(bad))


# demo --------------------------------------------------------------------------------------


def test_demo__nothing_without_demo_customers(db):
    from cpms.holdings import demo

    assert demo.load(rng=random.Random(1), options={}) == []


def test_demo__deterministic_and_idempotent(db):
    from cpms.access import demo as users_demo
    from cpms.customers import demo as customers_demo
    from cpms.holdings import demo

    users_demo.load(rng=random.Random("1:users"), options={})
    customers_demo.load(rng=random.Random("1:customers"), options={"customers": 6})

    created = demo.load(rng=random.Random("1:holdings"), options={})
    count = Holding.objects.count()
    again = demo.load(rng=random.Random("1:holdings"), options={})

    assert created and again == []
    assert Holding.objects.count() == count
    kinds = set(Holding.objects.values_list("kind", flat=True))
    assert {"account", "portfolio", "loan", "contract"} <= kinds
    assert InstrumentPrice.objects.filter(source="demo").count() == 16
    for portfolio in Holding.objects.filter(kind="portfolio"):
        assert 3 <= portfolio.positions.count() <= 5
    for loan in Holding.objects.filter(kind="loan"):
        assert loan.loan.instalments.count() == loan.loan.term_months
    assert AuditEntry.objects.filter(action="holding.registered").count() == count
