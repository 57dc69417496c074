"""Two or more approvers deciding at the same moment: the row lock lets exactly one execute.

Runs on PostgreSQL (threads need real connections; the in-memory SQLite test database cannot be
shared between threads). On SQLite the same guarantee comes from BEGIN IMMEDIATE."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from cpms.access import staff as access_staff
from cpms.approvals import registry, services
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.core.errors import CpmsError
from cpms.users import services as user_services
from cpms.users.choices import Role
from cpms.users.models import Branch
from tests.approvals.conftest import TEST_ACTION, FakeOperation
from tests.audit.helpers import audit_flushable  # noqa: F401 (fixture)
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: threads cannot share the in-memory SQLite database",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]


def _race(approvers: list, request_id: int) -> list[str]:
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(user) -> None:
        try:
            barrier.wait(timeout=10)
            services.approval_approve(actor=user, request_id=request_id, reason="race")
            outcome = "ok"
        except CpmsError as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=decide, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def _setup(approvers_required: int, checkers: int) -> tuple[FakeOperation, ApprovalRequest, list]:
    branch = user_services.branch_ensure(actor=None, code="RACE0", name="竞争分行")
    fake = FakeOperation()
    registry.register(TEST_ACTION, execute=fake.execute, describe=fake.describe, replace=True)
    services.approval_policy_ensure(
        actor=None, action=TEST_ACTION, approvers_required=approvers_required
    )
    maker = access_staff.user_create(
        actor=None,
        username="race-maker",
        password=PASSWORD,
        roles=[Role.RELATIONSHIP_MANAGER],
        branch=branch,
    )
    users = [
        access_staff.user_create(
            actor=None,
            username=f"race-{n}",
            password=PASSWORD,
            roles=[Role.FINANCE_OFFICER],
            branch=branch,
        )
        for n in range(checkers)
    ]
    request = services.approval_submit(
        actor=maker,
        action=TEST_ACTION,
        payload={"code": "RACE", "name": "竞争"},
        reason="race",
    ).request
    return fake, request, users


def test_approval_approve__racing_final_approvers_execute_once():
    fake, request, users = _setup(approvers_required=1, checkers=4)
    try:
        outcomes = _race(users, request.pk)
    finally:
        registry.unregister(TEST_ACTION)
    assert outcomes == ["approvals.not_pending"] * 3 + ["ok"]
    assert fake.calls == [request.pk]
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED
    assert Branch.objects.filter(code="RACE").count() == 1
    assert ApprovalDecision.objects.filter(request=request).count() == 1
    assert AuditEntry.objects.filter(action="approval.executed").count() == 1


def test_approval_approve__racing_approvers_reach_the_count_exactly_once():
    fake, request, users = _setup(approvers_required=2, checkers=2)
    try:
        outcomes = _race(users, request.pk)
    finally:
        registry.unregister(TEST_ACTION)
    assert outcomes == ["ok", "ok"]
    assert fake.calls == [request.pk]
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED
    assert ApprovalDecision.objects.filter(request=request).count() == 2
    assert AuditEntry.objects.filter(action="approval.executed").count() == 1
