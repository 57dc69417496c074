"""Console pages and API of portfolio trading, and this app's permission-matrix rules."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cpms.customers.services import customer_register
from cpms.ledger.models import Transfer
from cpms.portfolios.models import Trade
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.portfolios import matrix


@pytest.fixture
def finance_client(finance) -> Client:
    client = Client()
    client.force_login(finance)
    return client


@pytest.fixture
def finance_api(finance, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(finance, scopes=['*:write'])}")


def trade_body(**overrides):
    return {
        "side": "buy",
        "instrument_code": "600519",
        "quantity": "10",
        "price": "10.005",
        "fee_minor": 100,
        "trade_date": "2026-01-05",
        **overrides,
    }


def post_json(client: Client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json")


# ------------------------------------------------------------------------ console


def test_portfolio_list__shows_portfolios_with_market_value(
    finance_client, book, cash, price, portfolio, today
):
    book("buy", "10", "10")
    price("600519", "12.5", today)
    response = finance_client.get(reverse("portfolios:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = response.content.decode()
    assert portfolio.holding_number in text
    assert "125.00" in text  # market value
    assert "25.00" in text  # unrealised gain


def test_portfolio_detail__shows_positions_trades_and_form(
    finance_client, book, cash, portfolio, price, today
):
    book("buy", "10", "10", reference="BR-77")
    price("600519", "9", today)
    response = finance_client.get(reverse("portfolios:detail", kwargs={"pk": portfolio.pk}))
    assert response.status_code == 200
    text = response.content.decode()
    assert "10.0000" in text and "BR-77" in text and "-10.00" in text
    assert reverse("portfolios:trade", kwargs={"pk": portfolio.pk}) in text


def test_trade_book_view__books_and_redirects(finance_client, cash, portfolio):
    url = reverse("portfolios:trade", kwargs={"pk": portfolio.pk})
    response = finance_client.post(
        url,
        {
            "side": "buy",
            "instrument_code": "600519",
            "quantity": "5",
            "price": "20",
            "currency": "CNY",
            "fee": "1.50",
            "trade_date": "2026-01-05",
            "idempotency_key": "console:abc",
        },
    )
    assert response.status_code == 302
    trade = Trade.objects.get()
    assert (trade.quantity_minor, trade.gross_minor, trade.fee_minor) == (50_000, 10_000, 150)
    again = finance_client.post(url, {**response.wsgi_request.POST.dict()})
    assert again.status_code == 302
    assert Trade.objects.count() == 1


def test_trade_book_view__refusal_is_shown_next_to_the_field(finance_client, cash, portfolio):
    url = reverse("portfolios:trade", kwargs={"pk": portfolio.pk})
    response = finance_client.post(
        url,
        {
            "side": "sell",
            "instrument_code": "600519",
            "quantity": "5",
            "price": "20",
            "currency": "CNY",
            "trade_date": "2026-01-05",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Cannot sell 5.0000 units of 600519: the portfolio holds 0.0000." in (
        response.content.decode()
    )
    assert Trade.objects.count() == 0


# ------------------------------------------------------------------------ API


def test_api_trade_book__created_then_replayed(finance_api, cash, portfolio):
    url = f"/api/v1/portfolios/{portfolio.pk}/trades"
    response = post_json(finance_api, url, trade_body(idempotency_key="api-1"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["quantity"] == "10.0000"
    assert (body["gross_minor"], body["fee_minor"], body["cash_minor"]) == (10_005, 100, 10_105)
    assert body["average_cost_after"] == "10.10500000"
    transfers = Transfer.objects.count()

    again = post_json(finance_api, url, trade_body(idempotency_key="api-1"))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Transfer.objects.count() == transfers


def test_api_trade_book__overselling_is_409_in_the_error_shape(finance_api, cash, portfolio):
    url = f"/api/v1/portfolios/{portfolio.pk}/trades"
    response = post_json(finance_api, url, trade_body(side="sell"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "ledger.insufficient_funds"
    assert set(error["fields"]) == {"quantity"}
    assert Trade.objects.count() == 0


def test_api_trade_book__invalid_quantity_is_422(finance_api, cash, portfolio):
    url = f"/api/v1/portfolios/{portfolio.pk}/trades"
    response = post_json(finance_api, url, trade_body(quantity="1.00001"))
    assert response.status_code == 422
    assert "error" in response.json()
    assert Trade.objects.count() == 0


def test_api_portfolio_get__valuation(finance_api, book, cash, portfolio, price, today):
    book("buy", "10", "10", fee_minor=100)
    price("600519", "11", today)
    response = finance_api.get(f"/api/v1/portfolios/{portfolio.pk}")
    assert response.status_code == 200
    body = response.json()
    [position] = body["positions"]
    assert position["units"] == "10.0000"
    assert position["book_cost_minor"] == 10_100
    assert position["market_value_minor"] == 11_000
    assert position["unrealised_minor"] == 900
    assert position["unrealised_percent"] == "8.91"
    assert body["totals"] == [
        {
            "currency": "CNY",
            "book_cost_minor": 10_100,
            "market_value_minor": 11_000,
            "unrealised_minor": 900,
            "realised_minor": 0,
            "missing_prices": [],
        }
    ]
    past = finance_api.get(f"/api/v1/portfolios/{portfolio.pk}?as_of=2000-01-01").json()
    assert past["positions"] == [] and past["as_of"] == "2000-01-01"


def test_api_lists(finance_api, book, cash, portfolio):
    book("buy", "10", "10")
    book("sell", "4", "12")
    listed = finance_api.get("/api/v1/portfolios/").json()
    assert [item["id"] for item in listed["items"]] == [portfolio.pk]
    assert listed["items"][0]["totals"][0]["realised_minor"] == 4_800 - 4_000
    trades = finance_api.get(f"/api/v1/portfolios/{portfolio.pk}/trades?limit=1").json()
    assert [item["side"] for item in trades["items"]] == ["sell"]
    assert trades["next_cursor"]


# ------------------------------------------------------------------------ matrix rules


@pytest.fixture
def world(db, make_user, branch):
    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    users = {role: make_user(role, username=f"m-{role}") for role in Role.values}
    users["out_of_branch"] = make_user(Role.FINANCE_OFFICER, username="m-far", branch=far)
    customer = customer_register(
        actor=users[Role.RELATIONSHIP_MANAGER],
        data={
            "kind": "organisation",
            "legal_name": "矩阵测试有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": users[Role.RELATIONSHIP_MANAGER].pk,
        },
    )
    world = {"users": users, "customer": customer, "branch": branch}
    matrix.build(world)
    return world


@pytest.mark.parametrize("persona", ["anonymous", *Role.values, "out_of_branch"])
def test_matrix_rules__console_and_api(world, persona, token_for):
    user = None if persona == "anonymous" else world["users"][persona]
    console = Client()
    api = Client()
    if user is not None:
        console.force_login(user)
        api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['*:write'])}")
    failures = []
    for name, rule in matrix.CONSOLE.items():
        url = reverse(name, kwargs=matrix.console_kwargs(name, world))
        status = console.get(url).status_code
        allowed = rule.allows(persona, user, world)
        expected = (302,) if user is None else ((200,) if allowed else (403, 404))
        if status not in expected:
            failures.append(f"{name} -> {status} (allowed={allowed})")
    for (method, path), rule in matrix.API.items():
        url = path.replace("{portfolio_id}", str(world["portfolio"].pk))
        allowed = rule.allows(persona, user, world)
        if method != "GET" and allowed:
            continue
        before = matrix.state(world)
        body = matrix.WRITE_BODIES.get(path, {})
        response = api.generic(method, url, data=json.dumps(body), content_type="application/json")
        expected = (401,) if user is None else ((200,) if allowed else (403, 404))
        if response.status_code not in expected:
            failures.append(f"{method} {path} -> {response.status_code} (allowed={allowed})")
        if matrix.state(world) != before:
            failures.append(f"{method} {path} changed state")
    assert failures == []


def _queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    skipped = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return sum(
        1
        for query in captured.captured_queries
        if "django_session" not in query["sql"] and not query["sql"].startswith(skipped)
    )


def test_portfolio_lists__query_count_does_not_grow_with_rows(
    finance_client, finance_api, book, cash, rm, customer, portfolio, price, today
):
    from tests.portfolios.conftest import register_portfolio

    book("buy", "10", "10")
    price("600519", "11", today)
    console_one = _queries(finance_client, reverse("portfolios:list"))
    api_one = _queries(finance_api, "/api/v1/portfolios/")
    for number in range(2, 5):
        second = register_portfolio(rm, customer, f"PF-{number}")
        book("buy", "1", "10", holding=second, instrument_code=f"60000{number}")
    assert _queries(finance_client, reverse("portfolios:list")) <= console_one
    assert _queries(finance_api, "/api/v1/portfolios/") <= api_one


def test_trade_book_view__fee_with_more_decimals_than_the_currency_is_refused(
    finance_client, cash, portfolio
):
    url = reverse("portfolios:trade", kwargs={"pk": portfolio.pk})
    base = {
        "side": "buy",
        "instrument_code": "600519",
        "quantity": "5",
        "price": "20",
        "currency": "CNY",
        "trade_date": "2026-01-05",
    }
    response = finance_client.post(url, {**base, "fee": "1.505"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "CNY has 2 decimal places" in response.context["form"].errors["fee"][0]
    assert not Trade.objects.exists()
    with_separators = finance_client.post(url, {**base, "fee": "1,000.50"})
    assert with_separators.status_code == 302
    assert Trade.objects.get().fee_minor == 100_050
