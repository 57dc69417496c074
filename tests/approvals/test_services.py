"""Maker-checker services: submission, decisions, execution, expiry, cancellation, policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cpms.approvals import registry, services, tasks
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.core.errors import CpmsError, NotFound, PermissionDenied, ValidationFailed
from cpms.users.models import Branch
from tests.approvals.conftest import TEST_ACTION, audit_actions


def _make_overdue(request: ApprovalRequest) -> None:
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def _set_policy(action: str, **values) -> None:
    ApprovalPolicy.objects.filter(action=action).update(**values)


# ---------------------------------------------------------------- defaults and thresholds


@pytest.mark.django_db
def test_default_policies__exist_for_every_builtin_action():
    policies = {
        policy.action: (
            policy.enabled,
            policy.approvers_required,
            policy.threshold_minor,
            policy.currency,
            policy.approver_permission,
        )
        for policy in ApprovalPolicy.objects.all()
    }
    assert policies == {
        "ledger.transfer": (True, 1, 5_000_000, "CNY", "approvals.decide"),
        "holdings.dispose": (True, 1, None, "", "approvals.decide"),
        "customers.merge": (True, 1, None, "", "approvals.decide"),
        "access.role_grant": (True, 1, None, "", "approvals.decide"),
        "monitoring.rule_change": (True, 1, None, "", "approvals.decide"),
        "privacy.bulk_export": (True, 1, None, "", "approvals.decide"),
        "points.adjust": (True, 1, None, "", "approvals.decide"),
        "customers.kyc_verify": (True, 1, None, "", "approvals.decide"),
    }


@pytest.mark.django_db
def test_approval_required__threshold_compares_amounts_strictly_above():
    assert services.approval_required("ledger.transfer", 5_000_000, "CNY") is False
    assert services.approval_required("ledger.transfer", 4_999_999, "cny") is False
    assert services.approval_required("ledger.transfer", 5_000_001, "CNY") is True


@pytest.mark.django_db
def test_approval_required__unknown_amount_or_other_currency_fails_closed():
    assert services.approval_required("ledger.transfer") is True
    assert services.approval_required("ledger.transfer", 100, "USD") is True


@pytest.mark.django_db
def test_approval_required__no_threshold_always_and_disabled_never():
    assert services.approval_required("holdings.dispose") is True
    _set_policy("holdings.dispose", enabled=False)
    assert services.approval_required("holdings.dispose") is False


@pytest.mark.django_db
def test_approval_required__unknown_action_is_an_error():
    with pytest.raises(ValidationFailed) as caught:
        services.approval_required("nothing.here")
    assert caught.value.code == "approvals.unknown_action"


# ---------------------------------------------------------------- submission


@pytest.mark.django_db
def test_approval_submit__below_threshold_is_not_required_and_writes_nothing(operation, maker):
    _set_policy(TEST_ACTION, threshold_minor=10_000, currency="CNY")
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    outcome = services.approval_submit(
        actor=maker,
        action=TEST_ACTION,
        payload={"code": "X1", "name": "x"},
        amount_minor=10_000,
        currency="CNY",
        reason="small",
    )
    assert outcome == services.Submission(required=False, request=None)
    assert ApprovalRequest.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_submit__above_threshold_creates_pending_request(operation, maker):
    _set_policy(TEST_ACTION, threshold_minor=10_000, currency="CNY", expiry_hours=48)
    before = timezone.now()
    outcome = services.approval_submit(
        actor=maker,
        action=TEST_ACTION,
        payload={"code": "X1", "name": "大额"},
        object_type="branch",
        object_id=7,
        amount_minor=10_001,
        currency="cny",
        reason="large",
    )
    request = ApprovalRequest.objects.get()
    assert outcome.required is True
    assert outcome.request == request
    assert request.status == ApprovalStatus.PENDING
    assert request.maker == maker
    assert request.payload == {"code": "X1", "name": "大额"}
    assert request.summary == "Create branch X1 大额"
    assert (request.object_type, request.object_id) == ("branch", "7")
    assert (request.amount_minor, request.currency) == (10_001, "CNY")
    assert request.approvers_required == 1
    assert request.approver_permission == "approvals.decide"
    assert before + timedelta(hours=48) <= request.expires_at
    assert request.expires_at <= timezone.now() + timedelta(hours=48)
    entry = AuditEntry.objects.get(object_type="approval_request", object_id=str(request.pk))
    assert entry.action == "approval.requested"
    assert entry.actor == maker
    assert entry.reason == "large"
    assert entry.after["payload"].startswith("sha256:")
    assert entry.after["amount_minor"] == 10_001
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_submit__reason_is_required(operation, maker):
    with pytest.raises(ValidationFailed) as caught:
        services.approval_submit(
            actor=maker, action=TEST_ACTION, payload={"code": "X", "name": "x"}, reason="  "
        )
    assert caught.value.fields == {"reason": "A reason is required."}
    assert ApprovalRequest.objects.count() == 0
    assert AuditEntry.objects.filter(action="approval.requested").count() == 0


@pytest.mark.django_db
def test_approval_submit__payload_must_be_plain_json(operation, maker):
    with pytest.raises(ValidationFailed) as caught:
        services.approval_submit(
            actor=maker, action=TEST_ACTION, payload={"when": timezone.now()}, reason="r"
        )
    assert list(caught.value.fields) == ["payload"]
    assert ApprovalRequest.objects.count() == 0


@pytest.mark.django_db
def test_approval_submit__action_without_registered_operation_is_refused(maker, monkeypatch):
    from cpms.approvals import registry

    # a policy exists for holdings.dispose; take its executor away for this test
    monkeypatch.delitem(registry._OPERATIONS, "holdings.dispose", raising=False)
    with pytest.raises(ValidationFailed) as caught:
        services.approval_submit(
            actor=maker, action="holdings.dispose", payload={}, reason="no executor yet"
        )
    assert caught.value.code == "approvals.unknown_action"
    assert ApprovalRequest.objects.count() == 0


# ---------------------------------------------------------------- approving


@pytest.mark.django_db
def test_approval_approve__maker_cannot_approve_and_nothing_changes(submit, maker, operation):
    request = submit()
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PermissionDenied) as caught:
        services.approval_approve(actor=maker, request_id=request.pk, reason="mine")
    assert caught.value.code == "approvals.self_approval"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []
    assert Branch.objects.filter(code="N01").exists() is False


@pytest.mark.django_db
def test_approval_approve__maker_holding_the_permission_still_cannot(operation, checker):
    outcome = services.approval_submit(
        actor=checker, action=TEST_ACTION, payload={"code": "S1", "name": "s"}, reason="r"
    )
    with pytest.raises(PermissionDenied) as caught:
        services.approval_approve(actor=checker, request_id=outcome.request.pk)
    assert caught.value.code == "approvals.self_approval"
    assert ApprovalDecision.objects.count() == 0
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_approve__single_approver_executes_the_operation(submit, checker, operation):
    request = submit()
    services.approval_approve(actor=checker, request_id=request.pk, reason="looks right")
    request.refresh_from_db()
    branch = Branch.objects.get(code="N01")
    assert request.status == ApprovalStatus.EXECUTED
    assert request.result == {"branch_id": branch.pk, "code": "N01"}
    assert request.closed_at is not None
    assert operation.calls == [request.pk]
    decision = ApprovalDecision.objects.get()
    assert (decision.approver, decision.decision, decision.reason) == (
        checker,
        "approved",
        "looks right",
    )
    assert audit_actions(request.pk) == [
        "approval.requested",
        "approval.approved",
        "approval.executed",
    ]
    executed = AuditEntry.objects.get(action="approval.executed")
    assert executed.actor == checker
    assert executed.after == {
        "status": "executed",
        "action": TEST_ACTION,
        "result": {"branch_id": branch.pk, "code": "N01"},
    }
    assert AuditEntry.objects.filter(action="branch.created", object_id=str(branch.pk)).count() == 1


@pytest.mark.django_db
def test_approval_approve__two_of_three_executes_on_the_second(
    submit, checker, checker2, checker3, operation
):
    _set_policy(TEST_ACTION, approvers_required=2)
    request = submit()
    services.approval_approve(actor=checker, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert operation.calls == []
    services.approval_approve(actor=checker2, request_id=request.pk, reason="ok")
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED
    assert operation.calls == [request.pk]
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker3, request_id=request.pk)
    assert caught.value.code == "approvals.not_pending"
    assert ApprovalDecision.objects.filter(request=request).count() == 2
    assert audit_actions(request.pk) == [
        "approval.requested",
        "approval.approved",
        "approval.approved",
        "approval.executed",
    ]
    approvals = AuditEntry.objects.filter(action="approval.approved").order_by("pk")
    assert [entry.after for entry in approvals] == [
        {"approvals": 1, "approvers_required": 2},
        {"approvals": 2, "approvers_required": 2},
    ]


@pytest.mark.django_db
def test_approval_approve__an_approver_decides_once(submit, checker, operation):
    _set_policy(TEST_ACTION, approvers_required=2)
    request = submit()
    services.approval_approve(actor=checker, request_id=request.pk)
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.already_decided"
    with pytest.raises(CpmsError) as caught:
        services.approval_reject(actor=checker, request_id=request.pk, reason="changed my mind")
    assert caught.value.code == "approvals.already_decided"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 1
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_approve__without_the_policy_permission_is_refused(
    submit, make_user, outsider, operation
):
    other_maker = make_user("relationship_manager", username="rm-2")
    request = submit()
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    for user in (outsider, other_maker):
        with pytest.raises(PermissionDenied) as caught:
            services.approval_approve(actor=user, request_id=request.pk)
        assert caught.value.code == "approvals.not_approver"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_approve__policy_permission_is_the_one_snapshotted(
    submit, checker, checker2, operation
):
    _set_policy(TEST_ACTION, approver_permission="approvals.configure")
    request = submit()
    _set_policy(TEST_ACTION, approver_permission="approvals.decide")
    with pytest.raises(PermissionDenied) as caught:
        services.approval_approve(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.not_approver"
    services.approval_approve(actor=checker2, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED


@pytest.mark.django_db
def test_approval_approve__unknown_request_is_not_found(checker):
    with pytest.raises(NotFound):
        services.approval_approve(actor=checker, request_id=999_999)


@pytest.mark.django_db
def test_approval_approve__executor_failure_rolls_back_everything(submit, checker, operation):
    request = submit()
    operation.fail_with = CpmsError("branch refused", code="test.refused")
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk, reason="go")
    assert caught.value.code == "test.refused"
    assert operation.calls == [request.pk]  # it ran, wrote a branch, then failed
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert request.result is None
    assert ApprovalDecision.objects.count() == 0
    assert Branch.objects.filter(code="N01").exists() is False
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    # once the cause is fixed, the same approver can approve again
    operation.fail_with = None
    services.approval_approve(actor=checker, request_id=request.pk, reason="go")
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED


@pytest.mark.django_db
def test_approval_approve__unexpected_executor_error_is_reported_and_rolled_back(
    submit, checker, operation
):
    request = submit()
    operation.fail_with = RuntimeError("disk on fire")
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.execution_failed"
    assert caught.value.fields == {"operation": "RuntimeError"}
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert Branch.objects.filter(code="N01").exists() is False


# ---------------------------------------------------------------- rejecting


@pytest.mark.django_db
def test_approval_reject__reason_is_required(submit, checker, operation):
    request = submit()
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(ValidationFailed) as caught:
        services.approval_reject(actor=checker, request_id=request.pk, reason=" ")
    assert caught.value.fields == {"reason": "A reason is required."}
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before


@pytest.mark.django_db
def test_approval_reject__with_reason_closes_the_request(submit, checker, checker2, operation):
    _set_policy(TEST_ACTION, approvers_required=2)
    request = submit()
    services.approval_approve(actor=checker2, request_id=request.pk)
    services.approval_reject(actor=checker, request_id=request.pk, reason="wrong city")
    request.refresh_from_db()
    assert request.status == ApprovalStatus.REJECTED
    assert request.closed_at is not None
    assert operation.calls == []
    assert list(ApprovalDecision.objects.values_list("decision", "reason").order_by("pk")) == [
        ("approved", ""),
        ("rejected", "wrong city"),
    ]
    assert audit_actions(request.pk) == [
        "approval.requested",
        "approval.approved",
        "approval.rejected",
    ]
    assert AuditEntry.objects.get(action="approval.rejected").reason == "wrong city"


@pytest.mark.django_db
def test_approval_reject__maker_cannot_reject_own_request(submit, maker, operation):
    request = submit()
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PermissionDenied) as caught:
        services.approval_reject(actor=maker, request_id=request.pk, reason="oops")
    assert caught.value.code == "approvals.self_approval"
    assert ApprovalDecision.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before


# ---------------------------------------------------------------- expiry


@pytest.mark.django_db
def test_approval_approve__late_decision_expires_the_request(submit, checker, operation):
    request = submit()
    _make_overdue(request)
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk, reason="late")
    assert caught.value.code == "approvals.expired"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED
    assert ApprovalDecision.objects.count() == 0
    assert operation.calls == []
    assert audit_actions(request.pk) == ["approval.requested", "approval.expired"]
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.not_pending"


@pytest.mark.django_db
def test_approval_expire_overdue__expires_only_overdue_pending_requests(submit, checker, operation):
    overdue, fresh, done = submit(), submit(), submit()
    services.approval_approve(actor=checker, request_id=done.pk)
    _make_overdue(overdue)
    ApprovalRequest.objects.filter(pk=done.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.approval_expire_overdue(actor=None) == 1
    statuses = dict(ApprovalRequest.objects.values_list("pk", "status"))
    assert statuses == {
        overdue.pk: "expired",
        fresh.pk: "pending",
        done.pk: "executed",
    }
    entry = AuditEntry.objects.get(action="approval.expired")
    assert entry.object_id == str(overdue.pk)
    assert entry.actor is None
    assert services.approval_expire_overdue(actor=None) == 0


@pytest.mark.django_db
def test_expire_overdue_requests__periodic_task_expires(submit, operation):
    request = submit()
    _make_overdue(request)
    assert tasks.expire_overdue_requests.call_local() == 1
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED
    entry = AuditEntry.objects.get(action="approval.expired")
    assert entry.channel == "job"


def test_expire_overdue_requests__runs_every_five_minutes():
    from datetime import datetime

    task = tasks.expire_overdue_requests.task_class()
    assert task.validate_datetime(datetime(2026, 1, 1, 9, 5)) is True
    assert task.validate_datetime(datetime(2026, 1, 1, 9, 7)) is False


# ---------------------------------------------------------------- cancelling


@pytest.mark.django_db
def test_approval_cancel__maker_withdraws_a_pending_request(submit, maker, checker, operation):
    request = submit()
    services.approval_cancel(actor=maker, request_id=request.pk, reason="not needed")
    request.refresh_from_db()
    assert request.status == ApprovalStatus.CANCELLED
    assert audit_actions(request.pk) == ["approval.requested", "approval.cancelled"]
    with pytest.raises(CpmsError) as caught:
        services.approval_approve(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.not_pending"
    assert operation.calls == []


@pytest.mark.django_db
def test_approval_cancel__only_the_maker_may_cancel(submit, checker, operation):
    request = submit()
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    with pytest.raises(PermissionDenied) as caught:
        services.approval_cancel(actor=checker, request_id=request.pk)
    assert caught.value.code == "approvals.not_maker"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before


@pytest.mark.django_db
def test_approval_cancel__closed_request_cannot_be_cancelled(submit, maker, checker, operation):
    request = submit()
    services.approval_approve(actor=checker, request_id=request.pk)
    with pytest.raises(CpmsError) as caught:
        services.approval_cancel(actor=maker, request_id=request.pk)
    assert caught.value.code == "approvals.not_pending"


# ---------------------------------------------------------------- policies


@pytest.mark.django_db
def test_approval_policy_update__audited_with_before_and_after(configurer):
    services.approval_policy_update(
        actor=configurer,
        action="ledger.transfer",
        changes={"approvers_required": 2, "threshold_minor": 10_000_000, "currency": "cny"},
        reason="board decision",
    )
    policy = ApprovalPolicy.objects.get(action="ledger.transfer")
    assert (policy.approvers_required, policy.threshold_minor, policy.currency) == (
        2,
        10_000_000,
        "CNY",
    )
    entry = AuditEntry.objects.get(action="approval.policy_changed")
    assert entry.actor == configurer
    assert (entry.object_type, entry.object_id) == ("approval_policy", "ledger.transfer")
    assert entry.before == {"approvers_required": 1, "threshold_minor": 5_000_000}
    assert entry.after == {"approvers_required": 2, "threshold_minor": 10_000_000}
    assert entry.reason == "board decision"


@pytest.mark.django_db
def test_approval_policy_update__without_configure_permission_is_refused(checker):
    with pytest.raises(PermissionDenied):
        services.approval_policy_update(
            actor=checker, action="ledger.transfer", changes={"enabled": False}
        )
    assert ApprovalPolicy.objects.get(action="ledger.transfer").enabled is True
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0


@pytest.mark.django_db
def test_approval_policy_update__invalid_values_are_refused(configurer):
    with pytest.raises(ValidationFailed) as caught:
        services.approval_policy_update(
            actor=configurer,
            action="holdings.dispose",
            changes={
                "approvers_required": 0,
                "expiry_hours": 0,
                "threshold_minor": 5,
                "approver_permission": "nope.nope",
            },
        )
    assert sorted(caught.value.fields) == [
        "approver_permission",
        "approvers_required",
        "currency",
        "expiry_hours",
    ]
    with pytest.raises(ValidationFailed) as caught:
        services.approval_policy_update(
            actor=configurer, action="holdings.dispose", changes={"x": 1}
        )
    assert caught.value.fields == {"x": "Unknown field."}
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0


@pytest.mark.django_db
def test_approval_policy_update__unchanged_values_write_nothing(configurer):
    services.approval_policy_update(
        actor=configurer, action="customers.merge", changes={"enabled": True}
    )
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0


@pytest.mark.django_db
def test_approval_policy_update__unknown_action_is_not_found(configurer):
    with pytest.raises(NotFound):
        services.approval_policy_update(actor=configurer, action="x.y", changes={})


@pytest.mark.django_db
def test_approval_policy_ensure__creates_once_and_keeps_edits(configurer):
    services.approval_policy_ensure(actor=None, action="reports.publish", approvers_required=2)
    services.approval_policy_update(
        actor=configurer, action="reports.publish", changes={"approvers_required": 3}
    )
    policy = services.approval_policy_ensure(
        actor=None, action="reports.publish", approvers_required=2
    )
    assert policy.approvers_required == 3
    assert list(
        AuditEntry.objects.filter(action="approval.policy_changed").values_list("before", "after")
    ) == [
        (
            None,
            {
                "enabled": True,
                "approvers_required": 2,
                "threshold_minor": None,
                "currency": "",
                "expiry_hours": 72,
                "approver_permission": "approvals.decide",
            },
        ),
        ({"approvers_required": 2}, {"approvers_required": 3}),
    ]


@pytest.mark.django_db
def test_policy_change__pending_requests_keep_their_count(submit, checker, configurer, operation):
    request = submit()
    services.approval_policy_update(
        actor=configurer, action=TEST_ACTION, changes={"approvers_required": 3}
    )
    services.approval_approve(actor=checker, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED


# ---------------------------------------------------------------- registry


def test_registry__refuses_a_second_executor_for_the_same_action():
    def first(**kwargs):
        return {}

    def second(**kwargs):
        return {}

    registry.register("test.twice", execute=first)
    try:
        registry.register("test.twice", execute=first)  # same registration: fine
        with pytest.raises(ValueError):
            registry.register("test.twice", execute=second)
    finally:
        registry.unregister("test.twice")


def test_registry__describe_falls_back_without_a_describer():
    assert registry.describe("test.unknown", {"b": 1, "a": 2}) == "test.unknown (a, b)"
