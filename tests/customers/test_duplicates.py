"""Issue 11: the same person cannot be registered twice. The same identity document is
refused; a similar person (name or pinyin, and birth date or phone) needs a confirmation with
a reason, kept on the customer and in its audit entry."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.customers import services
from cpms.customers.errors import DuplicateIdentity, PossibleDuplicate
from cpms.customers.models import Customer, IdentityClaim
from cpms.customers.services import register as registration
from tests.customers.conftest import OTHER_RESIDENT_ID, RESIDENT_ID, individual

# born on the same day as RESIDENT_ID (1949-12-31), another person's number
SAME_BIRTHDAY_ID = "110105194912310038"


def state() -> tuple[int, int]:
    return Customer.objects.count(), AuditEntry.objects.exclude(action="access.denied").count()


def test_register__same_identity_number_is_refused_and_names_the_customer_in_scope(rm1, customer):
    before = state()

    with pytest.raises(DuplicateIdentity) as caught:
        services.customer_register(
            actor=rm1,
            data=individual(legal_name="张叁", phone="", relationship_manager_id=rm1.pk),
        )

    assert caught.value.existing == customer
    assert customer.customer_number in caught.value.message
    assert caught.value.fields == {"identity_number": "Already registered."}
    assert state() == before


def test_register__same_identity_number_out_of_scope_reveals_nothing(far_rm, customer):
    before = state()

    with pytest.raises(DuplicateIdentity) as caught:
        services.customer_register(
            actor=far_rm,
            data=individual(relationship_manager_id=far_rm.pk, phone="13900139000"),
        )

    error = caught.value
    assert error.existing is None
    assert "another branch" in error.message
    assert customer.branch.name in error.message
    body = json.dumps(error.as_dict(), ensure_ascii=False)
    for secret in (customer.customer_number, customer.legal_name, RESIDENT_ID, "existing"):
        assert secret not in body
    assert state() == before


def test_register__similar_name_and_same_phone_warns_then_registers_with_reason(rm1, customer):
    before = state()
    data = individual(
        legal_name="章三",  # the same pinyin: zhangsan
        identity_number=OTHER_RESIDENT_ID,
        relationship_manager_id=rm1.pk,
    )

    with pytest.raises(PossibleDuplicate) as caught:
        services.customer_register(actor=rm1, data=data)
    assert caught.value.candidates == [customer]
    assert caught.value.elsewhere == 0
    assert state() == before

    with pytest.raises(Exception) as missing_reason:
        services.customer_register(actor=rm1, data={**data, "confirm_possible_duplicate": True})
    assert "duplicate_reason" in missing_reason.value.fields
    assert state() == before

    twin = services.customer_register(
        actor=rm1,
        data={
            **data,
            "confirm_possible_duplicate": True,
            "duplicate_reason": "Different person: sister, checked her ID card",
        },
    )

    twin.refresh_from_db()
    assert twin.possible_duplicate_confirmed
    assert twin.duplicate_reason == "Different person: sister, checked her ID card"
    assert twin.duplicate_confirmation["candidate_ids"] == [customer.pk]
    assert twin.duplicate_confirmation["confirmed_by_id"] == rm1.pk
    entry = AuditEntry.objects.get(action="customer.created", object_id=str(twin.pk))
    assert entry.reason == "Different person: sister, checked her ID card"
    assert entry.after["possible_duplicate_of"] == [customer.customer_number]


def test_register__same_name_and_birth_date_warns(rm1, customer):
    with pytest.raises(PossibleDuplicate):
        services.customer_register(
            actor=rm1,
            data=individual(
                identity_number=SAME_BIRTHDAY_ID,
                phone="",
                email="",
                relationship_manager_id=rm1.pk,
            ),
        )


def test_register__another_person_is_not_a_duplicate(rm1, customer):
    other = services.customer_register(
        actor=rm1,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            relationship_manager_id=rm1.pk,
        ),
    )
    assert not other.possible_duplicate_confirmed
    assert other.duplicate_confirmation == {}


def test_register__candidates_out_of_scope_are_only_counted(far_rm, customer):
    with pytest.raises(PossibleDuplicate) as caught:
        services.customer_register(
            actor=far_rm,
            data=individual(identity_number=OTHER_RESIDENT_ID, relationship_manager_id=far_rm.pk),
        )

    assert caught.value.candidates == []
    assert caught.value.elsewhere == 1
    body = json.dumps(caught.value.as_dict(), ensure_ascii=False)
    assert customer.customer_number not in body
    assert caught.value.as_dict()["error"]["candidates_elsewhere"] == 1


def test_register__the_claim_stops_a_second_registration_that_passed_the_check(
    rm1, customer, monkeypatch
):
    """Two registrations of the same document at once: the one that did not see the other
    (simulated by skipping the check) still fails on the unique claim; nothing is written."""
    assert IdentityClaim.objects.filter(customer=customer).count() == 1
    monkeypatch.setattr(registration, "_refuse_same_document", lambda **kwargs: None)
    monkeypatch.setattr(registration, "possible_duplicates", lambda **kwargs: [])
    before = state()

    with pytest.raises(DuplicateIdentity):
        services.customer_register(
            actor=rm1, data=individual(legal_name="王五", relationship_manager_id=rm1.pk)
        )

    assert state() == before


def test_update__changing_to_a_registered_number_is_refused(rm1, customer):
    other = services.customer_register(
        actor=rm1,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            phone="",
            relationship_manager_id=rm1.pk,
        ),
    )

    with pytest.raises(DuplicateIdentity):
        services.customer_update(actor=rm1, customer=other, data={"identity_number": RESIDENT_ID})
    services.customer_update(actor=rm1, customer=other, data={"identity_number": SAME_BIRTHDAY_ID})
    other.refresh_from_db()
    assert IdentityClaim.objects.filter(customer=other).count() == 1


# API ---------------------------------------------------------------------------------------


def _api(user, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=['customers:write'])}")


def _post(client: Client, body: dict):
    return client.post("/api/v1/customers/", data=json.dumps(body), content_type="application/json")


def test_api__possible_duplicate_is_409_with_candidates_then_confirmed(rm1, customer, token_for):
    client = _api(rm1, token_for)
    data = individual(
        legal_name="章三", identity_number=OTHER_RESIDENT_ID, relationship_manager_id=rm1.pk
    )

    refused = _post(client, data)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "customers.possible_duplicate"
    assert error["candidates"] == [customer.customer_number]
    assert error["candidates_elsewhere"] == 0
    assert "confirm_possible_duplicate" in error["fields"]

    registered = _post(
        client,
        {**data, "confirm_possible_duplicate": True, "duplicate_reason": "Twin brother"},
    )
    assert registered.status_code == 201
    assert registered.json()["possible_duplicate_confirmed"] is True
    assert registered.json()["duplicate_reason"] == "Twin brother"


def test_api__same_document_is_409(rm1, far_rm, customer, token_for):
    same = _post(_api(rm1, token_for), individual())
    assert same.status_code == 409
    assert same.json()["error"]["code"] == "customers.duplicate_identity"
    assert same.json()["error"]["existing"]["customer_number"] == customer.customer_number

    far = _post(_api(far_rm, token_for), individual(phone=""))
    assert far.status_code == 409
    assert "existing" not in far.json()["error"]
    assert customer.customer_number not in far.content.decode()


# console -----------------------------------------------------------------------------------


def _form(**overrides):
    data = {
        "kind": "individual",
        "legal_name": "张三",
        "identity_kind": "resident_id",
        "identity_number": RESIDENT_ID,
        "branch_id": "",
        "kyc_status": "pending",
        "risk_rating": "low",
    }
    data.update(overrides)
    return data


def test_console__duplicate_links_to_the_existing_customer(rm1, rm1_client, customer):
    url = reverse("customers:create")
    response = rm1_client.post(url, _form(branch_id=rm1.branch_id))
    assert response.status_code == 200
    assert reverse("customers:detail", args=[customer.pk]) in response.content.decode()
    assert Customer.objects.count() == 1


def test_console__possible_duplicate_asks_for_confirmation(rm1, rm1_client, customer):
    url = reverse("customers:create")
    data = _form(
        branch_id=rm1.branch_id,
        relationship_manager_id=rm1.pk,
        legal_name="章三",
        identity_number=OTHER_RESIDENT_ID,
        phone="13800138000",
    )
    warned = rm1_client.post(url, data)
    page = warned.content.decode()
    assert 'name="confirm_possible_duplicate"' in page
    assert reverse("customers:detail", args=[customer.pk]) in page
    assert Customer.objects.count() == 1

    done = rm1_client.post(
        url, {**data, "confirm_possible_duplicate": "on", "duplicate_reason": "姐妹，已核对证件"}
    )
    assert done.status_code == 302
    twin = Customer.objects.exclude(pk=customer.pk).get()
    assert twin.duplicate_reason == "姐妹，已核对证件"
    profile = rm1_client.get(reverse("customers:detail", args=[twin.pk])).content.decode()
    assert "姐妹，已核对证件" in profile
