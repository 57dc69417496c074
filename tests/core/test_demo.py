from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from cpms.core.demo_loader import demo_load
from cpms.users.models import Branch, User

DEMO_USERS = [
    "admin",
    "rm1",
    "rm2",
    "finance1",
    "finance2",
    "finance3",
    "compliance1",
    "auditor1",
    "service1",
    "trainer1",
]


def snapshot() -> list[tuple]:
    users = list(
        User.objects.order_by("username").values_list(
            "username", "password", "branch__code", "display_name", "groups__name"
        )
    )
    branches = list(Branch.objects.order_by("code").values_list("code", "name", "city"))
    return users + branches


@pytest.mark.django_db
def test_demo__one_user_per_role_who_signs_in_and_running_again_changes_nothing():
    """One full load (the slow part of this module) serves three checks: who is created, that
    they sign in with the demo password, and that a second run changes nothing."""
    out = StringIO()
    call_command("demo", stdout=out)
    assert sorted(User.objects.values_list("username", flat=True)) == sorted(DEMO_USERS)
    assert Branch.objects.count() == 3
    roles = dict(User.objects.values_list("username", "groups__name"))
    assert roles["rm1"] == roles["rm2"] == "relationship_manager"
    assert roles["auditor1"] == "auditor"
    assert User.objects.get(username="rm1").branch != User.objects.get(username="rm2").branch
    assert "Demo data loaded:" in out.getvalue()
    for username in DEMO_USERS:
        assert authenticate(username=username, password="cpms-demo-2026") is not None, username

    before = snapshot()
    again = StringIO()
    call_command("demo", stdout=again)
    assert snapshot() == before
    assert "nothing changed" in again.getvalue()


@pytest.mark.django_db
def test_demo__covers_both_profiles_every_kind_and_every_custody_state():
    from cpms.custody.choices import CustodyState
    from cpms.custody.models import CustodyItem
    from cpms.customers.models import Customer
    from cpms.documents.models import Document
    from cpms.holdings.choices import HoldingKind
    from cpms.holdings.models import Holding
    from cpms.retail.models import Purchase, PurchaseReturn

    call_command("demo", "--customers", "12", stdout=StringIO())
    tags = [tag for row in Customer.objects.values_list("tags", flat=True) for tag in row]
    assert tags.count("demo-finance") == 6
    assert tags.count("demo-retail") == 6
    assert set(Customer.objects.values_list("kind", flat=True)) == {"individual", "organisation"}
    assert set(Holding.objects.values_list("kind", flat=True)) == set(HoldingKind.values)
    assert set(CustodyItem.objects.values_list("state", flat=True)) == set(CustodyState.values)
    assert Purchase.objects.exists()
    assert PurchaseReturn.objects.filter(kind="return").exists()
    assert PurchaseReturn.objects.filter(kind="exchange").exists()
    assert Document.objects.exists()


class _Rollback(Exception):
    pass


def load_and_capture(seed: int) -> list[tuple]:
    """Load demo data, capture it (without password hashes, which are salted), roll back."""
    captured: list[tuple] = []
    try:
        with transaction.atomic():
            demo_load(seed=seed, options={"customers": 4})
            captured = [row[:1] + row[2:] for row in snapshot()]
            raise _Rollback
    except _Rollback:
        pass
    return captured


@pytest.mark.django_db
def test_demo__deterministic_for_a_seed():
    first = load_and_capture(7)
    assert User.objects.count() == 0
    second = load_and_capture(7)
    assert first == second
    assert len(first) == len(DEMO_USERS) + 3


@pytest.mark.django_db
@override_settings(CPMS_DEMO_PASSWORD="another-demo-password")
def test_demo__password_from_setting():
    call_command("demo", "--customers", "0", stdout=StringIO())
    assert authenticate(username="admin", password="another-demo-password") is not None
    assert authenticate(username="admin", password="cpms-demo-2026") is None
