"""API of the property register: /api/v1/holdings/."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from cpms.audit.models import AuditEntry
from cpms.holdings import services
from cpms.holdings.models import Holding, InstrumentPrice, PortfolioPosition
from tests.holdings.conftest import CARD, account_details, loan_details

BASE = "/api/v1/holdings"


@pytest.fixture
def api(rm1, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['*:write'])}")


@pytest.fixture
def rm2_api(rm2, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm2, scopes=['*:write'])}")


def post(client, path, body, method="post"):
    return getattr(client, method)(path, data=body, content_type="application/json")


def test_api__register_account_then_read_it_masked(api, customer):
    response = post(
        api,
        f"{BASE}/",
        {
            "customer_id": customer.pk,
            "kind": "account",
            "description": "工资卡",
            "details": account_details(),
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["holding_number"].startswith("P")
    assert body["customer_number"] == customer.customer_number
    assert body["details"]["account_type"] == "card"
    assert body["details"]["number_masked"].endswith("0128")
    assert CARD not in response.content.decode()
    detail = api.get(f"{BASE}/{body['id']}")
    assert detail.status_code == 200
    assert detail.json()["details"] == body["details"]
    assert CARD not in detail.content.decode()


def test_api__validation_errors_are_in_the_error_shape(api, customer):
    before = (Holding.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())
    response = post(
        api,
        f"{BASE}/",
        {"customer_id": customer.pk, "kind": "loan", "identifier": "L", "details": {"x": 1}},
    )

    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert "details.x" in fields and "details.principal_minor" in fields
    assert (
        Holding.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_api__list_filters_paginates_and_scopes(api, rm2_api, rm1, customer):
    for number in range(3):
        services.holding_register(
            actor=rm1, customer=customer, kind="contract", identifier=f"HT-{number}"
        )
    services.holding_register(actor=rm1, customer=customer, kind="membership", identifier="M-1")

    first = api.get(f"{BASE}/", {"kind": "contract", "limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert [item["identifier"] for item in page["items"]] == ["HT-2", "HT-1"]
    second = api.get(f"{BASE}/", {"kind": "contract", "limit": 2, "cursor": page["next_cursor"]})
    assert [item["identifier"] for item in second.json()["items"]] == ["HT-0"]
    assert second.json()["next_cursor"] is None
    assert [i["identifier"] for i in api.get(f"{BASE}/", {"q": "M-1"}).json()["items"]] == ["M-1"]
    assert rm2_api.get(f"{BASE}/").json()["items"] == []
    holding = Holding.objects.get(identifier="M-1")
    assert rm2_api.get(f"{BASE}/{holding.pk}").status_code == 404


def test_api__patch_status_and_valuations(api, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="loan", identifier="L-1", details=loan_details()
    )

    patched = post(
        api,
        f"{BASE}/{holding.pk}",
        {"description": "房贷", "details": {"annual_rate_percent": "6"}},
        method="patch",
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["description"] == "房贷"
    assert patched.json()["details"]["annual_rate_percent"] == "6"
    schedule = api.get(f"{BASE}/{holding.pk}/schedule").json()
    assert len(schedule) == 12
    assert sum(line["principal_minor"] for line in schedule) == 120_000
    assert schedule[0]["interest_minor"] == 600

    valued = post(
        api,
        f"{BASE}/{holding.pk}/valuations",
        {"value_minor": 110_000, "currency": "CNY", "valued_on": "2026-02-01", "source": "估值"},
    )
    assert valued.status_code == 201
    history = api.get(f"{BASE}/{holding.pk}/valuations").json()
    assert [(v["value_minor"], v["source"]) for v in history] == [(110_000, "估值")]

    status = post(api, f"{BASE}/{holding.pk}/status", {"status": "closed", "reason": "结清"})
    assert status.status_code == 200
    assert status.json()["status"] == "closed"
    refused = post(api, f"{BASE}/{holding.pk}/status", {"status": "active"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "holdings.status_transition"


def test_api__positions_and_prices(api, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="portfolio", identifier="PF-1", details={}
    )
    csv = b"instrument_code,price,currency,priced_on\n600519,1500.5,CNY,2026-01-05\n"

    imported = api.post(
        f"{BASE}/prices/import",
        {"file": _upload("prices.csv", csv), "source": "sse"},
    )
    assert imported.status_code == 200, imported.content
    assert imported.json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert InstrumentPrice.objects.get().source == "sse"

    added = post(
        api,
        f"{BASE}/{holding.pk}/positions",
        {
            "instrument_code": "600519",
            "instrument_name": "贵州茅台",
            "asset_class": "equity",
            "quantity": "2",
            "cost_minor": 280_000,
        },
    )
    assert added.status_code == 201, added.content
    position = added.json()
    assert position["market_value_minor"] == 300_100
    assert position["unrealised_gain_minor"] == 20_100
    changed = post(
        api, f"{BASE}/{holding.pk}/positions/{position['id']}", {"quantity": "3"}, method="patch"
    )
    assert changed.json()["market_value_minor"] == 450_150
    listed = api.get(f"{BASE}/{holding.pk}/positions").json()
    assert [row["instrument_code"] for row in listed] == ["600519"]
    removed = api.delete(f"{BASE}/{holding.pk}/positions/{position['id']}")
    assert removed.status_code == 204
    assert PortfolioPosition.objects.count() == 0


def test_api__bad_price_file_reports_rows(api):
    response = api.post(
        f"{BASE}/prices/import",
        {"file": _upload("p.csv", b"instrument_code,price,priced_on\nA,x,2026-01-01\n")},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "holdings.price_import_failed"
    assert set(response.json()["error"]["fields"]) == {"row 2.price"}


def test_api__schedule_of_a_non_loan_is_empty(api, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    response = api.get(f"{BASE}/{holding.pk}/schedule")
    assert (response.status_code, response.json()) == (200, [])


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_api__valued_on_in_future_is_refused(api, rm1, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="C-1"
    )
    tomorrow = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
    response = post(
        api, f"{BASE}/{holding.pk}/valuations", {"value_minor": 1, "valued_on": tomorrow}
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"valued_on"}
