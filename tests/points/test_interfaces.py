"""API, console, CLI, job, demo and the customer tab of loyalty points."""

from __future__ import annotations

import datetime
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from cpms.approvals.models import ApprovalRequest
from cpms.customers.services import customer_register
from cpms.ledger.models import Transfer
from cpms.points import demo, selectors, services
from cpms.points.models import PointsLot, PointsLotUse, PointsRule
from cpms.retail import demo as retail_demo
from tests.customers.conftest import individual
from tests.points.conftest import assert_books


def _api(user, token_for, scopes=("retail:write",)) -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=list(scopes))}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _post(client: Client, url: str, data: dict, method: str = "post"):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(rm1)
    return client


# API ---------------------------------------------------------------------------------------


def test_api_customer__balance_tier_lots(rm1, customer, buy, token_for):
    purchase = buy(customer)
    response = _api(rm1, token_for).get(f"/api/v1/points/customers/{customer.pk}")
    assert response.status_code == 200
    body = response.json()
    lot = PointsLot.objects.get()
    assert body == {
        "customer_id": customer.pk,
        "customer_number": customer.customer_number,
        "balance": 284,
        "available": 284,
        "tier": {
            "code": "standard",
            "name": "Standard",
            "multiplier": "1.0",
            "spend_12m_minor": 28490,
            "currency": "CNY",
            "next_code": "silver",
            "next_threshold_minor": 500000,
        },
        "lots": [
            {
                "id": lot.pk,
                "source": "purchase",
                "purchase_id": purchase.pk,
                "earned_on": lot.earned_on.isoformat(),
                "expires_on": lot.expires_on.isoformat(),
                "points": 284,
                "remaining": 284,
                "expired": False,
            }
        ],
    }


def test_api_customer__out_of_scope_is_404(rm2, customer, buy, token_for):
    buy(customer)
    response = _api(rm2, token_for).get(f"/api/v1/points/customers/{customer.pk}")
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


def test_api_redeem__created_and_insufficient(rm1, customer, buy, token_for):
    buy(customer)
    client = _api(rm1, token_for)
    url = f"/api/v1/points/customers/{customer.pk}/redeem"
    response = _post(client, url, {"points": 84, "reference": "V-9", "idempotency_key": "a1"})
    assert response.status_code == 201
    body = response.json()
    assert (body["points"], body["balance"], body["replayed"]) == (84, 200, False)
    assert body["lots"] == [[PointsLot.objects.get().pk, 84]]
    again = _post(client, url, {"points": 84, "reference": "V-9", "idempotency_key": "a1"})
    assert again.status_code == 201 and again.json()["replayed"] is True
    refused = _post(client, url, {"points": 201})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "points.insufficient"
    assert error["fields"] == {"points": "At most 200 points can be redeemed."}
    assert selectors.balance(customer) == 200
    assert_books(customer)


def test_api_redeem__read_token_cannot_write(rm1, customer, buy, token_for):
    buy(customer)
    client = _api(rm1, token_for, scopes=("retail:read",))
    response = _post(client, f"/api/v1/points/customers/{customer.pk}/redeem", {"points": 1})
    assert response.status_code == 403
    assert selectors.balance(customer) == 284


def test_api_adjustment__requested(rm1, customer, token_for):
    response = _post(
        _api(rm1, token_for),
        f"/api/v1/points/customers/{customer.pk}/adjustments",
        {"points": 30, "reason": "Goodwill"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["executed"] is False
    request = ApprovalRequest.objects.get(pk=body["approval_request_id"])
    assert request.payload == {"customer_id": customer.pk, "points": 30, "reason": "Goodwill"}
    assert Transfer.objects.count() == 0


def test_api_rules__get_and_put(rm1, service, token_for):
    listed = _api(rm1, token_for).get("/api/v1/points/rules")
    assert listed.status_code == 200
    assert [rule["currency"] for rule in listed.json()] == ["CNY"]
    body = {
        "currency": "CNY",
        "name": "CNY points 2027",
        "points_per_unit": 2,
        "unit_minor": 100,
        "category_multipliers": {"数码": "1.5"},
        "tiers": [
            {"code": "standard", "name": "Standard", "threshold_minor": 0, "multiplier": "1"},
            {"code": "vip", "name": "VIP", "threshold_minor": 100000, "multiplier": "2"},
        ],
        "expiry_months": 24,
        "active": True,
    }
    saved = _post(_api(rm1, token_for), "/api/v1/points/rules", body, method="put")
    assert saved.status_code == 200
    rule = PointsRule.objects.get(currency="CNY")
    assert (rule.name, rule.points_per_unit, rule.expiry_months) == ("CNY points 2027", 2, 24)
    assert [tier["code"] for tier in rule.tiers] == ["standard", "vip"]
    bad = _post(
        _api(rm1, token_for),
        "/api/v1/points/rules",
        {**body, "tiers": [{"code": "x", "threshold_minor": 5, "multiplier": "1"}]},
        method="put",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "points.invalid_rule"
    assert "tiers.0.threshold_minor" in bad.json()["error"]["fields"]
    denied = _post(_api(service, token_for), "/api/v1/points/rules", body, method="put")
    assert denied.status_code == 403


# console -----------------------------------------------------------------------------------


def test_console_list_and_customer_page(rm1_client, customer, buy):
    buy(customer)
    listing = rm1_client.get(reverse("points:list"))
    assert listing.status_code == 200
    assert listing.context["rows"][0][1] == 284
    page = rm1_client.get(reverse("points:customer", kwargs={"customer_id": customer.pk}))
    assert page.status_code == 200
    assert page.context["balance"] == 284
    assert [row.kind for row in page.context["history"]] == ["earn"]


def test_console_customer_page__other_manager_404(rm2, customer, buy):
    buy(customer)
    client = Client()
    client.force_login(rm2)
    response = client.get(reverse("points:customer", kwargs={"customer_id": customer.pk}))
    assert response.status_code == 404


def test_console_redeem__posts_and_refuses(rm1_client, customer, buy):
    buy(customer)
    url = reverse("points:redeem", kwargs={"customer_id": customer.pk})
    response = rm1_client.post(url, {"points": "84", "reference": "V-1"})
    assert response.status_code == 302
    assert selectors.balance(customer) == 200
    refused = rm1_client.post(url, {"points": "500"})
    assert refused.status_code == 422
    assert refused.context["redeem_form"].errors["points"] == [
        "At most 200 points can be redeemed."
    ]
    assert selectors.balance(customer) == 200


def test_console_adjust__requests_approval(rm1_client, customer):
    url = reverse("points:adjust", kwargs={"customer_id": customer.pk})
    response = rm1_client.post(url, {"points": "-5", "reason": "Correction"})
    assert response.status_code == 302
    request = ApprovalRequest.objects.get(action="points.adjust")
    assert request.payload["points"] == -5


def test_console_rules__edit(rm1_client):
    assert rm1_client.get(reverse("points:rules")).status_code == 200
    url = reverse("points:rule_edit", kwargs={"currency": "CNY"})
    form = rm1_client.get(url)
    assert form.status_code == 200
    assert "silver | Silver | 5000.00 | 1.25" in form.context["form"].initial["tiers"]
    response = rm1_client.post(
        url,
        {
            "name": "CNY points",
            "points_per_unit": "1",
            "unit": "1.00",
            "expiry_months": "18",
            "active": "on",
            "categories": "数码 = 2\n食品=1.5",
            "tiers": "standard | Standard | 0 | 1\nsilver | Silver | 3000 | 1.2",
        },
    )
    assert response.status_code == 302
    rule = PointsRule.objects.get(currency="CNY")
    assert rule.expiry_months == 18
    assert rule.category_multipliers == {"数码": "2", "食品": "1.5"}
    assert rule.tiers[1] == {
        "code": "silver",
        "name": "Silver",
        "threshold_minor": 300000,
        "multiplier": "1.2",
    }
    bad = rm1_client.post(
        url,
        {
            **{"name": "x", "points_per_unit": "1", "unit": "1.00"},
            "expiry_months": "12",
            "tiers": "gold | Gold | 10 | 2",
        },
    )
    assert bad.status_code == 200
    assert bad.context["form"].errors == {
        "tiers": ["tiers.0.threshold_minor: The first tier starts at 0."]
    }
    assert form.context["form"].initial["unit"] == "1.00"
    too_precise = rm1_client.post(
        url,
        {
            **{"name": "x", "points_per_unit": "1", "unit": "1.005"},
            "expiry_months": "12",
            "tiers": "standard | Standard | 0 | 1",
        },
    )
    assert "CNY" in too_precise.context["form"].errors["unit"][0]
    assert PointsRule.objects.get(currency="CNY").unit_minor == 100


def test_console_customer_tab(rm1_client, customer, buy):
    buy(customer)
    response = rm1_client.get(
        reverse("customers:detail", kwargs={"pk": customer.pk}), {"tab": "points"}
    )
    assert response.status_code == 200
    assert response.context["points_balance"] == 284


# CLI and job -------------------------------------------------------------------------------


def test_cli_expire(customer, buy, monkeypatch):
    old = buy(customer, amount=10_000, days_ago=360)
    lot = PointsLot.objects.get(purchase=old)
    monkeypatch.setattr(services._common, "_today", lambda: lot.expires_on)
    out = io.StringIO()
    call_command("points", "expire", "--as-of", lot.expires_on.isoformat(), stdout=out)
    assert out.getvalue().strip() == "1 lot(s) expired."
    assert PointsLotUse.objects.get(lot=lot).kind == "expire"
    with pytest.raises(CommandError, match="not a date"):
        call_command("points", "expire", "--as-of", "tomorrow")
    with pytest.raises(CommandError, match="ahead of time"):
        call_command(
            "points", "expire", "--as-of", (lot.expires_on + datetime.timedelta(1)).isoformat()
        )


def test_job_expire_points(customer, buy, monkeypatch):
    from cpms.points.tasks import expire_points

    old = buy(customer, amount=10_000, days_ago=360)
    lot = PointsLot.objects.get(purchase=old)
    monkeypatch.setattr(services._common, "_today", lambda: lot.expires_on)
    expire_points.call_local()
    assert selectors.balance(customer) == 0
    assert_books(customer)


# demo --------------------------------------------------------------------------------------


def test_demo__nothing_without_demo_customers(customer):
    assert demo.load(rng=random.Random(1), options={}) == []


def test_demo__redemptions_expiry_adjustment_idempotent(rm1):
    for number in range(3):
        customer_register(
            actor=rm1,
            data=individual(
                legal_name=f"演示{number}",
                identity_number=f"DEMO{number}",
                identity_kind="other",
                phone="",
                email="",
                tags=["demo-retail"],
                relationship_manager_id=rm1.pk,
            ),
        )
    retail_demo.load(rng=random.Random("7:cpms.retail.demo"), options={})
    created = demo.load(rng=random.Random("7:cpms.points.demo"), options={})
    again = demo.load(rng=random.Random("7:cpms.points.demo"), options={})
    assert again == []
    assert any("redeemed" in line for line in created)
    assert PointsLotUse.objects.filter(kind="expire").exists()
    assert PointsLotUse.objects.filter(kind="redeem").exists()
    assert ApprovalRequest.objects.filter(action="points.adjust", status="pending").count() == 1
    assert_books()
