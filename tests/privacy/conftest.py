from __future__ import annotations

import json

import pytest
from django.test import Client

from cpms.audit.models import AuditEntry
from cpms.privacy import keys
from cpms.users.choices import Role
from tests.testapps.privacy_fixture.services import person_create

RESIDENT_ID = "110101199003071234"
PHONE = "13812345678"
EMAIL = "Zhang.San@Example.com"
NAME = "欧阳娜娜"
CARD = "6222021234561234"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """Unwrapped keys are cached per process; each test starts without them."""
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def person(db):
    return person_create(
        actor=None,
        label="P1",
        identity_number=RESIDENT_ID,
        phone=PHONE,
        email=EMAIL,
        name=NAME,
        bank_account=CARD,
    )


@pytest.fixture
def revealer(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance1")


@pytest.fixture
def revealer_client(revealer):
    client = Client()
    client.force_login(revealer)
    return client


@pytest.fixture
def audit_actions():
    def actions(*names: str) -> list[str]:
        entries = AuditEntry.objects.order_by("pk")
        if names:
            entries = entries.filter(action__in=names)
        return list(entries.values_list("action", flat=True))

    return actions


@pytest.fixture
def audit_dump():
    """Every audit column of every entry, as one string (to prove clear values never land)."""

    def dump() -> str:
        return json.dumps(list(AuditEntry.objects.values()), default=str, ensure_ascii=False)

    return dump
