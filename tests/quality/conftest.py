"""Fixtures for data quality: staff per scope and a helper to register customers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from stdnum.cn import ric, uscc

from cpms.customers.services import customer_register
from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.customers.conftest import individual, organisation


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Staff users are made in nearly every test here; their passwords play no part."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _legacy_registration():
    """Duplicates are what this app finds: register them as before issue 11 (the registry now
    refuses the same document and asks to confirm look-alikes)."""
    from tests.customers.legacy import legacy_registration

    with legacy_registration():
        yield


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


def resident_id(birth: str = "19900101", sequence: str = "001", region: str = "110105") -> str:
    """A valid 18-digit resident ID (GB 11643) for the birth date (YYYYMMDD)."""
    body = f"{region}{birth}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def uscc_number(serial: str = "M000100Y4") -> str:
    """A valid Unified Social Credit Code (GB 32100)."""
    body = f"91350100{serial}"
    return body + uscc.calc_check_digit(body)


def person(actor: Any, name: str, *, birth: str = "19900101", sequence: str = "001", **more: Any):
    data = individual(
        legal_name=name,
        identity_number=resident_id(birth, sequence),
        phone=more.pop("phone", ""),
        email=more.pop("email", ""),
        address=more.pop("address", ""),
        relationship_manager_id=more.pop("relationship_manager_id", actor.pk),
        tags=more.pop("tags", []),
        **more,
    )
    return customer_register(actor=actor, data=data)


def company(actor: Any, name: str, *, serial: str = "M000100Y4", **more: Any):
    data = organisation(
        legal_name=name,
        identity_number=uscc_number(serial),
        relationship_manager_id=more.pop("relationship_manager_id", actor.pk),
        **more,
    )
    return customer_register(actor=actor, data=data)


@pytest.fixture
def far_branch(db):
    return user_services.branch_ensure(actor=None, code="FAR", name="远方分行")


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def compliance(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance1")


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1")


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client
