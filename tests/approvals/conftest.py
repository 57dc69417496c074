"""Fixtures for the maker-checker: a test-only deferred operation and users per role."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from cpms.approvals import registry, services
from cpms.approvals.models import ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.users import services as user_services
from cpms.users.choices import Role

TEST_ACTION = "test.branch_create"


@dataclass
class FakeOperation:
    """Creates a branch through its service when approved; counts its runs; can be told to
    fail after writing, to prove the rollback."""

    calls: list[int] = field(default_factory=list)
    fail_with: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def execute(self, *, request: ApprovalRequest, actor: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append(request.pk)
        branch = user_services.branch_ensure(
            actor=actor, code=request.payload["code"], name=request.payload["name"]
        )
        if self.fail_with is not None:
            raise self.fail_with
        return {"branch_id": branch.pk, "code": branch.code}

    @staticmethod
    def describe(payload: dict[str, Any]) -> str:
        return f"Create branch {payload['code']} {payload['name']}"


@pytest.fixture
def operation(db):
    fake = FakeOperation()
    registry.register(TEST_ACTION, execute=fake.execute, describe=fake.describe, replace=True)
    services.approval_policy_ensure(actor=None, action=TEST_ACTION, approvers_required=1)
    yield fake
    registry.unregister(TEST_ACTION)


@pytest.fixture
def maker(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="maker")


@pytest.fixture
def checker(make_user):
    return make_user(Role.FINANCE_OFFICER, username="checker")


@pytest.fixture
def checker2(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="checker2")


@pytest.fixture
def checker3(make_user):
    return make_user(Role.FINANCE_OFFICER, username="checker3")


@pytest.fixture
def configurer(make_user):
    return make_user(Role.ADMINISTRATOR, username="configurer")


@pytest.fixture
def outsider(make_user):
    return make_user(Role.CUSTOMER_SERVICE, username="outsider")


@pytest.fixture
def submit(operation, maker):
    counter = iter(range(1, 10_000))

    def make(actor=None, **kwargs) -> ApprovalRequest:
        number = next(counter)
        outcome = services.approval_submit(
            actor=actor or maker,
            action=TEST_ACTION,
            payload=kwargs.pop("payload", {"code": f"N{number:02d}", "name": f"新分行{number}"}),
            object_type="branch",
            reason=kwargs.pop("reason", "new office opens"),
            **kwargs,
        )
        assert outcome.required is True
        return outcome.request

    return make


@pytest.fixture
def client_for():
    def login(user) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return login


def audit_actions(request_pk: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="approval_request", object_id=str(request_pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
