"""Custom fields through the API and the console."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.customers.models import Customer, CustomFieldDefinition
from tests.customers.conftest import define, individual

BASE = "/api/v1/customers/custom-fields"


def _api(user, token_for, scope: str = "customers:write") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=[scope])}")


def _json(client: Client, method: str, url: str, body: dict):
    return client.generic(method, url, data=json.dumps(body), content_type="application/json")


def test_api_custom_fields__define_change_and_list(admin, rm1, token_for):
    client = _api(admin, token_for)

    created = _json(
        client,
        "POST",
        BASE,
        {
            "customer_kind": "individual",
            "key": "income_band",
            "label": "Income band",
            "field_type": "choice",
            "choices": ["low", "high"],
        },
    )
    definition_id = created.json()["id"]
    changed = _json(client, "PATCH", f"{BASE}/{definition_id}", {"required": True})
    listed = _api(rm1, token_for, "customers:read").get(BASE, {"kind": "individual"})

    assert created.status_code == 201
    assert changed.status_code == 200 and changed.json()["required"] is True
    assert listed.status_code == 200
    assert [(item["key"], item["choices"]) for item in listed.json()] == [
        ("income_band", ["low", "high"])
    ]
    actions = AuditEntry.objects.filter(object_type="customers.custom_field").order_by("pk")
    assert [entry.action for entry in actions] == [
        "customer.custom_field_defined",
        "customer.custom_field_changed",
    ]


def test_api_custom_fields__errors(admin, rm1, token_for):
    define(admin, key="occupation")
    admin_api, rm1_api = _api(admin, token_for), _api(rm1, token_for)
    before = (
        CustomFieldDefinition.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )

    duplicate = _json(
        admin_api,
        "POST",
        BASE,
        {"customer_kind": "individual", "key": "occupation", "label": "X", "field_type": "text"},
    )
    refused = _json(
        rm1_api,
        "POST",
        BASE,
        {"customer_kind": "individual", "key": "other", "label": "X", "field_type": "text"},
    )
    missing = _json(admin_api, "PATCH", f"{BASE}/999999", {"label": "X"})

    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "customers.custom_field_exists"
    assert refused.status_code == 403
    assert missing.status_code == 404
    assert (
        CustomFieldDefinition.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_api_customer__custom_values_in_and_out(admin, rm1, token_for):
    define(admin, key="children", label="Children", field_type="integer")
    client = _api(rm1, token_for)

    bad = _json(
        client,
        "POST",
        "/api/v1/customers/",
        individual(relationship_manager_id=rm1.pk, custom_fields={"children": "many"}),
    )
    good = _json(
        client,
        "POST",
        "/api/v1/customers/",
        individual(relationship_manager_id=rm1.pk, custom_fields={"children": "2"}),
    )
    patched = _json(
        client,
        "PATCH",
        f"/api/v1/customers/{good.json()['id']}",
        {"custom_fields": {"children": None}},
    )

    assert bad.status_code == 422
    assert list(bad.json()["error"]["fields"]) == ["custom_fields.children"]
    assert good.status_code == 201 and good.json()["custom_fields"] == {"children": 2}
    assert patched.status_code == 200 and patched.json()["custom_fields"] == {}


def test_console_custom_fields__admin_defines_and_edits(admin_client):
    page = admin_client.get(reverse("customers:fields"))
    posted = admin_client.post(
        reverse("customers:fields"),
        {
            "customer_kind": "organisation",
            "key": "industry",
            "label": "行业",
            "field_type": "choice",
            "choices": "零售\n金融\n",
            "active": "on",
            "order": "1",
        },
    )
    definition = CustomFieldDefinition.objects.get()
    edit_url = reverse("customers:field-edit", kwargs={"pk": definition.pk})
    edit_page = admin_client.get(edit_url)
    edited = admin_client.post(
        edit_url, {"label": "所属行业", "choices": "零售\n金融", "order": "2"}
    )

    definition.refresh_from_db()
    assert page.status_code == 200
    assert posted.status_code == 302
    assert edit_page.status_code == 200
    assert edited.status_code == 302
    assert (definition.label, definition.choices, definition.active, definition.order) == (
        "所属行业",
        ["零售", "金融"],
        False,
        2,
    )


def test_console_custom_fields__invalid_definition_redisplays(admin_client):
    response = admin_client.post(
        reverse("customers:fields"),
        {"customer_kind": "individual", "key": "Bad Key", "label": "X", "field_type": "text"},
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["key"]
    assert CustomFieldDefinition.objects.count() == 0


def test_console_custom_fields__relationship_manager_is_refused(rm1_client):
    assert rm1_client.get(reverse("customers:fields")).status_code == 403


def test_console_customer_form__dynamic_custom_fields(admin, rm1, rm1_client, branch):
    define(admin, key="children", label="子女人数", field_type="integer")
    define(admin, key="paperless", label="电子对账单", field_type="boolean")
    define(
        admin,
        customer_kind="organisation",
        key="industry",
        label="行业",
        field_type="choice",
        choices=["零售"],
    )
    form_page = rm1_client.get(reverse("customers:create"))
    base = {
        "kind": "individual",
        "legal_name": "李四",
        "identity_kind": "resident_id",
        "identity_number": "11010519491231002X",
        "branch_id": branch.pk,
        "relationship_manager_id": rm1.pk,
        "kyc_status": "pending",
        "risk_rating": "low",
    }

    response = rm1_client.post(
        reverse("customers:create"),
        {
            **base,
            "cf_individual__children": "3",
            "cf_individual__paperless": "true",
            "cf_organisation__industry": "零售",  # the other kind's group is ignored
        },
    )

    text = form_page.content.decode()
    assert 'name="cf_individual__children"' in text
    assert 'name="cf_organisation__industry"' in text
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.custom_fields == {"children": 3, "paperless": True}
    profile = rm1_client.get(reverse("customers:detail", kwargs={"pk": customer.pk}))
    assert "子女人数" in profile.content.decode()


def test_console_customer_form__custom_error_is_shown_on_its_input(admin, rm1, rm1_client, branch):
    define(admin, key="children", label="子女人数", field_type="integer", required=True)

    response = rm1_client.post(
        reverse("customers:create"),
        {
            "kind": "individual",
            "legal_name": "李四",
            "identity_kind": "resident_id",
            "identity_number": "11010519491231002X",
            "branch_id": branch.pk,
            "relationship_manager_id": rm1.pk,
            "kyc_status": "pending",
            "risk_rating": "low",
        },
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["cf_individual__children"]
    assert Customer.objects.count() == 0


def test_console_customer_edit__unchanged_custom_values_are_kept(admin, rm1, rm1_client):
    from cpms.customers.services import custom_field_update, customer_register

    band = define(admin, key="band", label="Band", field_type="choice", choices=["a", "b"])
    define(admin, key="since", label="Since", field_type="date")
    customer = customer_register(
        actor=rm1,
        data=individual(
            relationship_manager_id=rm1.pk, custom_fields={"band": "a", "since": "2020-01-02"}
        ),
    )
    custom_field_update(actor=admin, definition=band, data={"choices": ["b", "c"]})
    url = reverse("customers:edit", kwargs={"pk": customer.pk})
    form = rm1_client.get(url).context["form"]

    response = rm1_client.post(
        url,
        {
            "legal_name": "张三",
            "identity_kind": "resident_id",
            "date_of_birth": "1949-12-31",
            "branch_id": customer.branch_id,
            "relationship_manager_id": rm1.pk,
            "kyc_status": "pending",
            "risk_rating": "medium",
            "tags": "vip, online",
            "cf_individual__band": "a",  # the retired option, offered because it is stored
            "cf_individual__since": "2020-01-02",
        },
    )

    customer.refresh_from_db()
    assert form.initial["cf_individual__band"] == "a"
    assert response.status_code == 302
    assert customer.custom_fields == {"band": "a", "since": "2020-01-02"}
    assert not AuditEntry.objects.filter(action="customer.updated").exists()
