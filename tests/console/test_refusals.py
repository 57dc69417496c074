"""Every refused access writes one `access.denied` audit entry (console and API); the friendly
404 page shows in debug mode too."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.users.choices import Role
from tests.customers.conftest import individual


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def customer(rm1):
    return customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))


def _denials():
    return AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).order_by("pk")


@pytest.mark.django_db
def test_console__ten_refusals_write_ten_entries(rm2, customer):
    client = Client()
    client.force_login(rm2)
    forbidden = ["/audit/", "/ledger/", "/privacy/", "/loans/", "/access/"]
    out_of_scope = [f"/customers/{customer.pk}/"] * 5
    # when
    statuses = [client.get(path).status_code for path in forbidden + out_of_scope]
    # then
    assert statuses == [403] * 5 + [404] * 5
    entries = list(_denials())
    assert len(entries) == 10
    assert {entry.actor_id for entry in entries} == {rm2.pk}
    assert [entry.after["path"] for entry in entries] == forbidden + out_of_scope
    assert all(entry.after["method"] == "GET" for entry in entries)
    scoped = entries[5]
    assert scoped.after["status"] == 404
    assert scoped.after["permission"] == "customers.view"
    assert scoped.object_type == "customers.customer"
    assert scoped.object_id == str(customer.pk)
    assert entries[0].after["status"] == 403
    assert entries[0].after["permission"]


@pytest.mark.django_db
def test_console__missing_pages_and_rows_are_not_refusals(client, rm1, customer):
    client.get("/no-such-page/")  # anonymous
    client.force_login(rm1)
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/customers/999999/").status_code == 404
    assert client.get(f"/customers/{customer.pk}/").status_code == 200
    assert not _denials().exists()


@pytest.mark.django_db
def test_api__ten_refusals_write_ten_entries(rm2, customer, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm2)}")
    forbidden = ["/api/v1/audit/entries"] * 5
    out_of_scope = [f"/api/v1/customers/{customer.pk}"] * 5
    # when
    statuses = [client.get(path).status_code for path in forbidden + out_of_scope]
    # then
    assert statuses == [403] * 5 + [404] * 5
    entries = list(_denials())
    assert len(entries) == 10
    assert {entry.actor_id for entry in entries} == {rm2.pk}
    assert entries[0].after["path"] == "/api/v1/audit/entries"
    assert entries[0].after["code"] == "permission_denied"
    assert entries[9].object_type == "customers.customer"
    assert entries[9].object_id == str(customer.pk)


@pytest.mark.django_db
def test_api__unauthenticated_calls_are_not_recorded(customer):
    assert Client().get(f"/api/v1/customers/{customer.pk}").status_code == 401
    assert not _denials().exists()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_debug_mode__404_is_the_friendly_page(staff_client):
    response = staff_client.get("/no-such-page/")
    content = response.content.decode()
    assert response.status_code == 404
    assert "error-page" in content
    assert "URLconf" not in content
    assert "Using the URLconf" not in content
    assert "^healthz" not in content


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_debug_mode__out_of_scope_row_is_the_friendly_page_and_recorded(rm2, customer):
    client = Client()
    client.force_login(rm2)
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 404
    assert "error-page" in response.content.decode()
    assert _denials().count() == 1
