"""API and console of the customer registry: happy paths, masking, scope and error shapes."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.customers.models import Consent, Customer
from tests.customers.conftest import RESIDENT_ID, individual


def _api(user, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['customers:write'])}")


def test_api_customer_register__creates_and_masks(rm1, token_for):
    client = _api(rm1, token_for)

    response = client.post(
        "/api/v1/customers/",
        data=json.dumps(individual(relationship_manager_id=rm1.pk)),
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert body["customer_number"] == customer.customer_number
    assert body["identity_number"] == "1101**********002X"
    assert body["phone"] == "+86138****8000"
    assert body["email"] == "Z***@example.com"
    assert RESIDENT_ID not in response.content.decode()
    assert AuditEntry.objects.filter(action="customer.created").count() == 1


def test_api_customer_register__invalid_id_is_a_field_error(rm1, token_for):
    client = _api(rm1, token_for)
    before = (Customer.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())

    response = client.post(
        "/api/v1/customers/",
        data=json.dumps(individual(identity_number="110105194912310021")),
        content_type="application/json",
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert list(error["fields"]) == ["identity_number"]
    assert (
        Customer.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_api_customer_list__search_and_pagination(rm1, token_for, customer):
    client = _api(rm1, token_for)

    response = client.get("/api/v1/customers/", {"q": "110105 19491231 002x", "limit": 1})

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [customer.pk]
    assert body["next_cursor"] is None


def test_api_customer_get__out_of_scope_is_404(rm2, token_for, customer):
    response = _api(rm2, token_for).get(f"/api/v1/customers/{customer.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_api_customer_update_status_and_consents(rm1, token_for, customer):
    client = _api(rm1, token_for)
    base = f"/api/v1/customers/{customer.pk}"

    patched = client.patch(
        base, data=json.dumps({"segment": "retail"}), content_type="application/json"
    )
    status = client.post(
        f"{base}/status",
        data=json.dumps({"status": "closed", "reason": "left"}),
        content_type="application/json",
    )
    refused = client.post(
        f"{base}/status",
        data=json.dumps({"status": "active", "reason": "back"}),
        content_type="application/json",
    )
    granted = client.post(
        f"{base}/consents",
        data=json.dumps({"purpose": "marketing", "channel": "api"}),
        content_type="application/json",
    )
    consent_id = granted.json()["id"]
    withdrawn = client.post(
        f"{base}/consents/{consent_id}/withdraw",
        data=json.dumps({"channel": "api"}),
        content_type="application/json",
    )
    history = client.get(f"{base}/consents")

    assert patched.status_code == 200 and patched.json()["segment"] == "retail"
    assert status.status_code == 200 and status.json()["status"] == "closed"
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "customers.status_transition"
    assert granted.status_code == 201
    assert withdrawn.status_code == 200 and withdrawn.json()["is_active"] is False
    assert [row["id"] for row in history.json()] == [consent_id]


def test_console_customer_list__search_shows_masked_rows(rm1_client, customer):
    response = rm1_client.get(reverse("customers:list"), {"q": "zhangsan"})

    assert response.status_code == 200
    text = response.content.decode()
    assert customer.customer_number in text
    assert "1101**********002X" in text
    assert RESIDENT_ID not in text


def test_console_customer_detail__tabs(rm1_client, customer):
    url = reverse("customers:detail", kwargs={"pk": customer.pk})

    for tab in ("profile", "consents", "history"):
        assert rm1_client.get(url, {"tab": tab}).status_code == 200
    assert rm1_client.get(url, {"tab": "nope"}).status_code == 404
    assert RESIDENT_ID not in rm1_client.get(url).content.decode()


def test_console_customer_detail__out_of_scope_is_404(rm2, customer):
    client = Client()
    client.force_login(rm2)

    response = client.get(reverse("customers:detail", kwargs={"pk": customer.pk}))

    assert response.status_code == 404


def test_console_customer_create__registers(rm1_client, rm1, branch):
    response = rm1_client.post(
        reverse("customers:create"),
        {
            "kind": "organisation",
            "legal_name": "福建测试科技有限公司",
            "identity_kind": "uscc",
            "identity_number": "9135 0100 m000 100y 43",
            "branch_id": branch.pk,
            "relationship_manager_id": rm1.pk,
            "kyc_status": "pending",
            "risk_rating": "low",
            "tags": "a, b",
        },
    )

    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", kwargs={"pk": customer.pk})
    assert customer.tags == ["a", "b"]


def test_console_customer_create__invalid_redisplays_with_error(rm1_client, rm1, branch):
    response = rm1_client.post(
        reverse("customers:create"),
        {
            "kind": "individual",
            "legal_name": "张三",
            "identity_kind": "resident_id",
            "identity_number": "110105194912310021",
            "branch_id": branch.pk,
            "relationship_manager_id": rm1.pk,
            "kyc_status": "pending",
            "risk_rating": "low",
        },
    )

    assert response.status_code == 200
    assert len(response.context["form"].errors["identity_number"]) == 1
    assert Customer.objects.count() == 0


def test_console_customer_edit__keeps_protected_values_when_left_empty(rm1_client, customer):
    from cpms.privacy.protected import pii_read

    url = reverse("customers:edit", kwargs={"pk": customer.pk})
    assert rm1_client.get(url).status_code == 200
    response = rm1_client.post(
        url,
        {
            "legal_name": "张三丰",
            "identity_kind": "resident_id",
            "branch_id": customer.branch_id,
            "relationship_manager_id": customer.relationship_manager_id,
            "kyc_status": "pending",
            "risk_rating": "medium",
            "tags": "vip, online",
        },
    )

    customer.refresh_from_db()
    assert response.status_code == 302
    assert customer.legal_name == "张三丰"
    assert customer.name_pinyin == "zhangsanfeng zsf"
    assert pii_read(customer, "identity_number") == RESIDENT_ID
    assert pii_read(customer, "phone") == "+8613800138000"


def test_console_consents_and_status(rm1_client, customer):
    rm1_client.post(
        reverse("customers:consent-grant", kwargs={"pk": customer.pk}),
        {"purpose": "service", "channel": "branch"},
    )
    consent = Consent.objects.get()
    rm1_client.post(
        reverse("customers:consent-withdraw", kwargs={"pk": customer.pk, "consent_id": consent.pk}),
        {"channel": "paper"},
    )
    rm1_client.post(
        reverse("customers:status", kwargs={"pk": customer.pk}),
        {"status": "dormant", "reason": "idle"},
    )

    consent.refresh_from_db()
    customer.refresh_from_db()
    assert consent.withdrawal_channel == "paper"
    assert customer.status == "dormant"


def _list_queries(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_customer_list__query_count_does_not_grow_with_rows(rm1, rm1_client, token_for, customer):
    from cpms.customers.services import customer_register

    api = _api(rm1, token_for)
    _list_queries(api, "/api/v1/customers/")  # warm: token use recorded, keys unwrapped
    _list_queries(rm1_client, "/customers/")
    one = (_list_queries(api, "/api/v1/customers/"), _list_queries(rm1_client, "/customers/"))
    for n, number in enumerate(("360426199101010071", "110112195001011238", "810000199001011230")):
        customer_register(
            actor=rm1,
            data=individual(
                legal_name=f"客户{'甲乙丙'[n]}",
                phone=f"1390000000{n}",
                relationship_manager_id=rm1.pk,
                identity_number=number,
            ),
        )

    four = (_list_queries(api, "/api/v1/customers/"), _list_queries(rm1_client, "/customers/"))

    assert four == one
