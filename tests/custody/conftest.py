"""Fixtures of the custody tests: staff in and out of scope, a customer, items in any state."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cpms.custody import services
from cpms.custody.choices import CustodyState, IncidentKind
from cpms.custody.models import CustodyItem
from cpms.customers.services import customer_register
from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.audit.helpers import audit_log  # noqa: F401 (fixture)
from tests.customers.conftest import individual


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


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
def checker(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="checker1")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


@pytest.fixture
def customer(rm1):
    return customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client


def png_bytes(size: tuple[int, int] = (8, 6), fmt: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def receive(actor: Any, customer: Any, **overrides: Any) -> CustodyItem:
    values: dict[str, Any] = {
        "category": "collateral",
        "description": "黄金金条 1000 克",
        "serial": "",
        "condition_grade": "good",
        "condition_notes": "外观完好",
        "location": "金库 A-01",
    }
    values.update(overrides)
    return services.item_receive(actor=actor, customer=customer, **values)


def bring_to(state: str, actor: Any, item: CustodyItem) -> CustodyItem:
    """Walk an item from `received` to `state` through the services."""
    today = timezone.localdate()
    if state == CustodyState.RECEIVED:
        return item
    if state == CustodyState.LOST:
        services.incident_open(actor=actor, item=item, kind=IncidentKind.LOST, description="x")
        return CustodyItem.objects.get(pk=item.pk)
    services.item_put_away(actor=actor, item=item)
    if state == CustodyState.CHECKED_OUT:
        services.item_check_out(
            actor=actor,
            item=item,
            to_whom="王工",
            purpose="估值",
            due_on=today + datetime.timedelta(days=3),
        )
    elif state == CustodyState.RETURNED:
        services.item_return(actor=actor, item=item, collected_by="张三", id_checked=True)
    elif state == CustodyState.DISPOSED:
        from cpms.approvals.services import approval_policy_update  # noqa: F401

        _dispose_without_checker(actor, item)
    return CustodyItem.objects.get(pk=item.pk)


def _dispose_without_checker(actor: Any, item: CustodyItem) -> None:
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="holdings.dispose").update(enabled=False)
    try:
        services.item_dispose_request(
            actor=actor, item=item, consent_reference="C-1", method="回收", reason="同意"
        )
    finally:
        ApprovalPolicy.objects.filter(action="holdings.dispose").update(enabled=True)


@pytest.fixture
def item_in(rm1, customer) -> Callable[[str], CustodyItem]:
    counter = iter(range(1, 1000))

    def make(state: str) -> CustodyItem:
        item = receive(rm1, customer, serial=f"SN-{next(counter)}")
        return bring_to(state, rm1, item)

    return make
