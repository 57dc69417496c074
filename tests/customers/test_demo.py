"""Demo customers: both profiles, valid identifiers, spread over branches and managers,
deterministic and idempotent."""

from __future__ import annotations

import random

import pytest
from django.core.management import CommandError, call_command

from cpms.audit.models import AuditEntry
from cpms.customers import demo, validators
from cpms.customers.models import Consent, Customer, CustomFieldDefinition
from cpms.privacy.protected import pii_read
from cpms.users import services as user_services
from cpms.users.choices import Role


@pytest.fixture
def demo_staff(make_user):
    branches = [
        user_services.branch_ensure(actor=None, code=code, name=code)
        for code in ("BJ01", "SH01", "SZ01")
    ]
    make_user(Role.ADMINISTRATOR, username="admin", branch=branches[0])
    make_user(Role.RELATIONSHIP_MANAGER, username="rm1", branch=branches[0])
    make_user(Role.RELATIONSHIP_MANAGER, username="rm2", branch=branches[1])
    make_user(Role.COMPLIANCE_OFFICER, username="compliance1", branch=branches[0])
    return branches


def _snapshot() -> list[tuple]:
    return list(
        Customer.objects.order_by("pk").values_list(
            "customer_number",
            "legal_name",
            "tags",
            "branch__code",
            "relationship_manager__username",
        )
    )


def test_demo_load__both_profiles_with_valid_identifiers(demo_staff):
    created = demo.load(rng=random.Random("2026:cpms.customers.demo"), options={"customers": 8})

    customers = list(Customer.objects.order_by("pk"))
    assert len(customers) == 8
    assert sum(line.startswith("customer ") for line in created) == 8
    assert {tag for customer in customers for tag in customer.tags} == {
        demo.FINANCE_TAG,
        demo.RETAIL_TAG,
    }
    assert {customer.branch.code for customer in customers} == {"BJ01", "SH01", "SZ01"}
    assert {customer.relationship_manager.username for customer in customers} == {"rm1", "rm2"}
    # KYC verified through four eyes: requested by the manager, approved by compliance1
    verified = [customer for customer in customers if customer.kyc_status == "verified"]
    assert verified and all(customer.kyc_reviewed_at for customer in verified)
    assert sum(line.endswith("verified (approved)") for line in created) == len(verified)
    for customer in customers:
        number = pii_read(customer, "identity_number")
        if customer.kind == "individual":
            assert validators.check_resident_id(number).warnings == ()
            assert pii_read(customer, "phone").startswith("+861")
        else:
            validators.check_uscc(number)
        assert customer.custom_fields  # the demo fields have values
        assert customer.consents.filter(purpose="service").exists()
    assert CustomFieldDefinition.objects.count() == len(demo.CUSTOM_FIELDS)
    assert AuditEntry.objects.filter(action="customer.created").count() == 8


def test_demo_load__is_idempotent_and_grows_with_n(demo_staff):
    demo.load(rng=random.Random("seed"), options={"customers": 4})
    first = _snapshot()
    counts = (Consent.objects.count(), AuditEntry.objects.exclude(action="access.denied").count())

    again = demo.load(rng=random.Random("seed"), options={"customers": 4})
    assert again == []
    assert (
        _snapshot(),
        (Consent.objects.count(), AuditEntry.objects.exclude(action="access.denied").count()),
    ) == (first, counts)

    more = demo.load(rng=random.Random("seed"), options={"customers": 6})
    assert sum(line.startswith("customer ") for line in more) == 2
    assert _snapshot()[:4] == first


def test_demo_load__same_seed_same_customers(demo_staff):
    specs = [demo.make_spec(random.Random(f"1:{index}"), index) for index in range(5)]
    again = [demo.make_spec(random.Random(f"1:{index}"), index) for index in range(5)]

    assert specs == again


def test_demo_load__does_nothing_without_the_demo_staff(db):
    assert demo.load(rng=random.Random(1), options={"customers": 5}) == []
    assert Customer.objects.count() == 0


def test_demo_command__refuses_a_negative_count(db):
    with pytest.raises(CommandError):
        call_command("demo", customers=-1)
