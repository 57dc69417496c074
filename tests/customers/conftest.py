"""Fixtures for the customer registry: staff per scope and registered customers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cpms.customers.services import customer_register
from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role

RESIDENT_ID = "11010519491231002X"
OTHER_RESIDENT_ID = "360426199101010071"
USCC = "91350100M000100Y43"
PHONE = "13800138000"
EMAIL = "Zhang.San@Example.com"


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def far_branch(db):
    return user_services.branch_ensure(actor=None, code="FAR", name="远方分行")


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1", display_name="经理一")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def far_rm(make_user, far_branch):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm-far", branch=far_branch)


@pytest.fixture
def compliance(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance1")


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1")


def individual(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "individual",
        "legal_name": "张三",
        "identity_kind": "resident_id",
        "identity_number": RESIDENT_ID,
        "phone": PHONE,
        "email": EMAIL,
        "address": "杭州市西湖区文三路 1 号",
        "risk_rating": "medium",
        "tags": ["vip", "online"],
    }
    data.update(overrides)
    return data


def organisation(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "organisation",
        "legal_name": "福建测试科技有限公司",
        "identity_kind": "uscc",
        "identity_number": USCC,
        "risk_rating": "high",
    }
    data.update(overrides)
    return data


@pytest.fixture
def customer(rm1):
    return customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin1")


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def define(actor: Any, **overrides: Any) -> Any:
    """Define a custom field through the service (an individual's text field by default)."""
    from cpms.customers.services import custom_field_define

    data = {
        "customer_kind": "individual",
        "key": "occupation",
        "label": "Occupation",
        "field_type": "text",
    }
    data.update(overrides)
    return custom_field_define(actor=actor, data=data)


@pytest.fixture
def kyc_four_eyes_off(db):
    """The `customers.kyc_verify` approval policy disabled: KYC may be set verified directly."""
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="customers.kyc_verify").update(enabled=False)
