"""The registry's safeguards hold for files too: an import cannot mark KYC verified while the
four-eyes policy is on, and new customers take their identity claims, so a registration of the
same document afterwards (or meanwhile) is refused instead of making a second customer."""

from __future__ import annotations

import io

import pytest

from cpms.customers.errors import DuplicateIdentity
from cpms.customers.models import Customer, IdentityClaim
from cpms.customers.services import customer_register
from cpms.dataio.samples import customer_rows
from cpms.dataio.services import data_import
from tests.dataio.conftest import csv_bytes

HEADERS = ["Kind", "Legal name", "Identity document", "Identity number", "KYC status"]


def _rows(count: int, kyc: str = "pending") -> list[list[str]]:
    return [
        ["individual", sample["legal_name"], "resident_id", sample["identity_number"], kyc]
        for sample in customer_rows(count)
    ]


def run(actor, rows):
    return data_import(
        actor=actor,
        dataset="customers",
        stream=io.BytesIO(csv_bytes(HEADERS, rows)),
        filename="customers.csv",
    )


def test_import_cannot_mark_kyc_verified_alone(rm1):
    report = run(rm1, _rows(2, kyc="verified"))
    assert not report.accepted
    assert {(error["row"], error["field"]) for error in report.errors} >= {
        (2, "kyc_status"),
        (3, "kyc_status"),
    }
    assert "second person" in str(report.errors[0]["message"])
    assert not Customer.objects.exists()


def test_imported_customers_take_their_identity_claims(rm1):
    report = run(rm1, _rows(3))
    assert report.accepted, report.errors
    assert IdentityClaim.objects.count() == 3
    sample = next(customer_rows(1))
    with pytest.raises(DuplicateIdentity):
        customer_register(
            actor=rm1,
            data={
                "kind": "individual",
                "legal_name": sample["legal_name"],
                "identity_kind": "resident_id",
                "identity_number": sample["identity_number"],
                "relationship_manager_id": rm1.pk,
            },
        )
    assert Customer.objects.count() == 3


def test_a_document_claimed_meanwhile_fails_the_whole_import(rm1, monkeypatch):
    # a registration of row 2's document commits while the file is being imported (the plan
    # saw no customer with it): the claim insert collides and nothing of the file is written
    from cpms.core.errors import Conflict
    from cpms.customers import bulk
    from cpms.customers.services import identity_key

    earlier = customer_register(
        actor=rm1,
        data={
            "kind": "organisation",
            "legal_name": "先登记的公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": rm1.pk,
        },
    )
    real = bulk._identities_claim

    def registered_meanwhile(customers):
        first = customers[0]
        key = identity_key(first.identity_kind, first.identity_country, first.identity_number_index)
        IdentityClaim.objects.create(key=key, customer=earlier)
        real(customers)

    monkeypatch.setattr(bulk, "_identities_claim", registered_meanwhile)
    with pytest.raises(Conflict) as failed:
        run(rm1, _rows(2))
    assert failed.value.code == "customers.duplicate_identity"
    assert list(Customer.objects.all()) == [earlier]
