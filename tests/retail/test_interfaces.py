"""API, console, CLI and demo of retail records: happy paths, error shapes, scope."""

from __future__ import annotations

import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.retail import demo, services
from cpms.retail.models import Purchase, PurchaseLine, PurchaseReturn
from tests.customers.conftest import individual
from tests.retail.conftest import purchase_data


def _api(user, token_for, scopes=("retail:write",)) -> Client:
    return Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=list(scopes))}",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _json(data: dict) -> str:
    return json.dumps(data, default=str)


def state() -> tuple[int, int, int, int]:
    return (
        Purchase.objects.count(),
        PurchaseLine.objects.count(),
        PurchaseReturn.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


# API ---------------------------------------------------------------------------------------


def test_api_purchase_record__created_with_lines(rm1, customer, token_for):
    response = _api(rm1, token_for).post(
        "/api/v1/purchases/", data=_json(purchase_data(customer)), content_type="application/json"
    )

    assert response.status_code == 201
    body = response.json()
    purchase = Purchase.objects.get()
    assert body["id"] == purchase.pk
    assert body["customer_number"] == customer.customer_number
    assert body["total_minor"] == 28490
    assert body["refunded_minor"] == 0
    assert [line["amount_minor"] for line in body["lines"]] == [20000, 5990, 2500]
    assert body["returns"] == []
    assert AuditEntry.objects.filter(action="purchase.recorded").count() == 1


def test_api_purchase_record__refusals_in_the_error_format(rm1, customer, purchase, token_for):
    client = _api(rm1, token_for)
    before = state()

    wrong_total = client.post(
        "/api/v1/purchases/",
        data=_json(purchase_data(customer, reference="R-2", total_minor=1)),
        content_type="application/json",
    )
    duplicate = client.post(
        "/api/v1/purchases/", data=_json(purchase_data(customer)), content_type="application/json"
    )
    not_an_integer = client.post(
        "/api/v1/purchases/",
        data=_json(
            purchase_data(
                customer,
                reference="R-3",
                lines=[{"category": "x", "sku": "a", "quantity": 1, "unit_amount_minor": 9.99}],
            )
        ),
        content_type="application/json",
    )

    assert wrong_total.status_code == 422
    assert wrong_total.json()["error"]["code"] == "validation_failed"
    assert list(wrong_total.json()["error"]["fields"]) == ["total_minor"]
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "retail.purchase_exists"
    assert not_an_integer.status_code == 422
    assert list(not_an_integer.json()["error"]["fields"]) == ["lines.0.unit_amount_minor"]
    assert state() == before


def test_api_purchase_list__filters_scope_and_pagination(
    rm1, rm2, customer, other_customer, purchase, token_for
):
    second = services.purchase_record(
        actor=rm1, data=purchase_data(customer, reference="R-2", channel="app", store_code="")
    )
    services.purchase_record(
        actor=rm2, data=purchase_data(other_customer, reference="R-OTHER", store_code="X")
    )
    client = _api(rm1, token_for)

    first_page = client.get("/api/v1/purchases/", {"limit": 1})
    next_page = client.get(
        "/api/v1/purchases/", {"limit": 1, "cursor": first_page.json()["next_cursor"]}
    )
    by_store = client.get("/api/v1/purchases/", {"store": "SH-01"})
    by_channel = client.get("/api/v1/purchases/", {"channel": "app"})
    today = timezone.localdate().isoformat()
    by_date = client.get("/api/v1/purchases/", {"date_from": today, "customer": customer.pk})

    assert first_page.status_code == 200
    assert [item["reference"] for item in first_page.json()["items"]] == ["R-2"]
    assert [item["reference"] for item in next_page.json()["items"]] == ["R-0001"]
    assert next_page.json()["next_cursor"] is None
    assert [item["id"] for item in by_store.json()["items"]] == [purchase.pk]
    assert [item["id"] for item in by_channel.json()["items"]] == [second.pk]
    assert by_date.json()["items"] == []


def test_api_purchase_get__out_of_scope_is_404(rm2, far_finance, purchase, token_for):
    for user in (rm2, far_finance):
        response = _api(user, token_for, scopes=("retail:read",)).get(
            f"/api/v1/purchases/{purchase.pk}"
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_api_returns__record_and_list(rm1, purchase, token_for):
    client = _api(rm1, token_for)
    url = f"/api/v1/purchases/{purchase.pk}/returns"

    created = client.post(
        url,
        data=_json(
            {"reason": "damaged", "refund_minor": 833, "lines": [{"line_number": 3, "quantity": 1}]}
        ),
        content_type="application/json",
    )
    too_many = client.post(
        url,
        data=_json({"reason": "damaged", "lines": [{"line_number": 3, "quantity": 3}]}),
        content_type="application/json",
    )
    listed = client.get(url)
    detail = client.get(f"/api/v1/purchases/{purchase.pk}")

    assert created.status_code == 201
    assert created.json()["lines"] == [{"line_number": 3, "quantity": 1, "value_minor": 833}]
    assert created.json()["refund_minor"] == 833
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"] == {
        "lines.0.quantity": "Only 2 of the 3 units of line 3 can still be returned."
    }
    assert [row["id"] for row in listed.json()] == [created.json()["id"]]
    assert detail.json()["refunded_minor"] == 833
    assert [line["returned_quantity"] for line in detail.json()["lines"]] == [0, 0, 1]


def test_api_returns__read_scope_token_cannot_write(rm1, purchase, token_for):
    client = _api(rm1, token_for, scopes=("retail:read",))
    before = state()

    response = client.post(
        f"/api/v1/purchases/{purchase.pk}/returns",
        data=_json({"reason": "damaged", "lines": [{"line_number": 1, "quantity": 1}]}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert state() == before


# console -----------------------------------------------------------------------------------


def test_console_list_and_detail(rm1_client, purchase):
    listing = rm1_client.get(reverse("retail:list"), {"store": "sh-01"})
    filtered_out = rm1_client.get(reverse("retail:list"), {"channel": "online"})
    detail = rm1_client.get(reverse("retail:detail", kwargs={"pk": purchase.pk}))

    assert listing.status_code == 200
    assert "R-0001" in listing.content.decode()
    assert "R-0001" not in filtered_out.content.decode()
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "帆布鞋" in text and "284.90 CNY" in text


def test_console_detail__other_manager_gets_404(make_user, purchase, rm2):
    client = Client()
    client.force_login(rm2)

    assert client.get(reverse("retail:detail", kwargs={"pk": purchase.pk})).status_code == 404
    assert client.get(reverse("retail:return", kwargs={"pk": purchase.pk})).status_code == 404
    assert "R-0001" not in client.get(reverse("retail:list")).content.decode()


def _purchase_form(customer, **overrides) -> dict[str, str]:
    data = {
        "customer": str(customer.pk),
        "reference": "R-FORM",
        "purchased_at": "2026-01-05T10:30",
        "channel": "store",
        "store_code": "BJ-01",
        "currency": "CNY",
        "total": "259.80",
        "note": "",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-category": "服装",
        "lines-0-sku": "CL-1",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "99.90",
        "lines-2-category": "家居",
        "lines-2-description": "杯子",
        "lines-2-quantity": "1",
        "lines-2-unit_price": "60",
    }
    data.update(overrides)
    return data


def test_console_purchase_create__records_with_exact_minor_units(rm1_client, customer):
    response = rm1_client.post(reverse("retail:create"), _purchase_form(customer))

    purchase = Purchase.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("retail:detail", kwargs={"pk": purchase.pk})
    assert purchase.total_minor == 25980
    lines = purchase.lines.values_list("line_number", "amount_minor")
    assert list(lines) == [(1, 19980), (2, 6000)]


def test_console_purchase_create__errors_redisplay_and_write_nothing(rm1_client, customer):
    before = state()

    wrong_total = rm1_client.post(reverse("retail:create"), _purchase_form(customer, total="1"))
    bad_amount = rm1_client.post(
        reverse("retail:create"), _purchase_form(customer, **{"lines-0-unit_price": "9.999"})
    )

    assert wrong_total.status_code == 200
    assert wrong_total.context["form"].errors["total"]
    assert bad_amount.status_code == 200
    assert bad_amount.context["lines"][0].errors["unit_price"]
    assert state() == before


def test_console_purchase_create__refused_line_shown_on_that_line(rm1_client, customer):
    # lines-1 is left blank: the service's second line ("lines.1") is the form's third
    rm1_client.cookies["django_language"] = "en"
    response = rm1_client.post(
        reverse("retail:create"),
        _purchase_form(customer, **{"lines-2-amount": "70.00", "total": "269.80"}),
    )

    assert response.status_code == 200
    errors = [line.errors for line in response.context["lines"]]
    assert list(errors[2]) == ["amount"]
    assert errors[2]["amount"][0].startswith("The line amount cannot exceed quantity × unit price")
    assert not errors[0] and not response.context["form"].errors


def test_console_purchase_return__records_and_refuses(rm1_client, purchase):
    url = reverse("retail:return", kwargs={"pk": purchase.pk})
    before = state()

    refused = rm1_client.post(url, {"kind": "return", "reason": "damaged", "line_1": "5"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["line_1"]
    assert state() == before

    done = rm1_client.post(
        url, {"kind": "return", "reason": "damaged", "refund": "100.00", "line_1": "1"}
    )
    assert done.status_code == 302
    record = PurchaseReturn.objects.get()
    assert record.refund_minor == 10000


def test_console_customer_tab__summary_and_recent(rm1_client, customer, purchase):
    response = rm1_client.get(
        reverse("customers:detail", kwargs={"pk": customer.pk}), {"tab": "purchases"}
    )

    assert response.status_code == 200
    assert response.context["purchase_summary"].spend_12m == {"CNY": 28490}
    assert "R-0001" in response.content.decode()


# CLI ---------------------------------------------------------------------------------------


def test_cli_purchases_list(rm1, customer, purchase):
    out = io.StringIO()

    call_command(
        "purchases", "--actor", "rm1", "list", "--customer", customer.customer_number, stdout=out
    )

    text = out.getvalue()
    assert "R-0001" in text
    assert "284.90 CNY" in text
    assert "1 purchase(s)" in text


def test_cli_purchases_list__refusals(rm1, rm2, customer, purchase):
    with pytest.raises(CommandError, match="No active user"):
        call_command("purchases", "--actor", "nobody", "list", "--customer", "C1")
    with pytest.raises(CommandError, match="No customer"):
        call_command("purchases", "--actor", "rm2", "list", "--customer", customer.customer_number)


# demo --------------------------------------------------------------------------------------


def test_demo__nothing_without_demo_retail_customers(customer):
    assert demo.load(rng=random.Random(1), options={}) == []
    assert Purchase.objects.count() == 0


class _Rollback(Exception):
    pass


def test_demo__deterministic_and_idempotent(rm1):
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

    def snapshot():
        return sorted(Purchase.objects.values_list("reference", "total_minor", "channel"))

    with pytest.raises(_Rollback), transaction.atomic():
        demo.load(rng=random.Random("7:cpms.retail.demo"), options={})
        first = snapshot()
        raise _Rollback

    created = demo.load(rng=random.Random("7:cpms.retail.demo"), options={})
    again = demo.load(rng=random.Random("7:cpms.retail.demo"), options={})

    assert snapshot() == first
    assert len(created) >= 6
    assert again == []
    assert Purchase.objects.filter(recorded_by=rm1).count() == Purchase.objects.count()


# query counts ------------------------------------------------------------------------------


def _queries(call) -> int:
    """Queries reading retail rows or their customers (session and token bookkeeping, which
    depends on the clock, is left out)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return sum(
        1
        for query in captured.captured_queries
        if "retail_" in query["sql"] or "customers_customer" in query["sql"]
    )


def test_lists__query_count_does_not_grow_with_rows(rm1, rm1_client, customer, token_for):
    client = _api(rm1, token_for, scopes=("retail:read",))
    services.purchase_record(actor=rm1, data=purchase_data(customer, reference="R-A"))
    one = (
        _queries(lambda: client.get("/api/v1/purchases/")),
        _queries(lambda: rm1_client.get(reverse("retail:list"))),
    )
    for number in range(5):
        services.purchase_record(actor=rm1, data=purchase_data(customer, reference=f"R-{number}"))

    six = (
        _queries(lambda: client.get("/api/v1/purchases/")),
        _queries(lambda: rm1_client.get(reverse("retail:list"))),
    )

    assert six == one


def test_console_purchase_create__customer_is_picked_within_scope(rm1_client, customer, rm2):
    from cpms.customers.services import customer_register

    others = customer_register(
        actor=rm2,
        data={
            "kind": "organisation",
            "legal_name": "别人的客户有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": rm2.pk,
        },
    )
    refused = rm1_client.post(reverse("retail:create"), _purchase_form(others))
    missing_form = _purchase_form(customer)
    missing_form["customer"] = "99999999"
    missing = rm1_client.post(reverse("retail:create"), missing_form)
    assert refused.status_code == missing.status_code == 200
    assert not Purchase.objects.exists()
    assert "别人的客户有限公司" not in refused.content.decode()
    assert refused.context["form"].errors["customer"] == missing.context["form"].errors["customer"]
    prefilled = rm1_client.get(
        reverse("retail:create"), {"customer_number": customer.customer_number}
    ).content.decode()
    assert customer.legal_name in prefilled and 'role="combobox"' in prefilled
