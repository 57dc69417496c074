"""Checkers are told about requests they may decide (in-app and one e-mail each); the maker is
told the outcome; the navigation badge counts what awaits the user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cpms.access.checks import active_grants
from cpms.access.staff import service_account_create
from cpms.approvals import selectors, services
from cpms.approvals.errors import ExecutionFailed
from cpms.approvals.models import ApprovalRequest
from cpms.notifications import approval_notices as notices
from cpms.notifications.models import Notification
from cpms.users.choices import Role


def _told(request) -> dict[str, str]:
    """username -> email status of the notices about `request`."""
    return dict(
        Notification.objects.filter(related_type="approval_request", related_id=str(request.pk))
        .order_by("pk")
        .values_list("user__username", "email_status")
    )


@pytest.fixture(autouse=True)
def _english(settings):
    """Notices are written in the site's default language; these tests read the English."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def people(make_user, maker, checker, checker2, outsider, branch):
    """Give everyone an address; a service account holding the deciding permission."""
    for user in (maker, checker, checker2, outsider):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    robot = service_account_create(
        actor=None, username="robot", roles=[Role.FINANCE_OFFICER], branch=branch
    )
    robot.email = "robot@example.com"
    robot.save(update_fields=["email"])
    return robot


@pytest.mark.django_db
def test_submit__eligible_checkers_get_notice_and_one_email_each(
    people, submit, maker, checker, checker2, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit()
    told = _told(request)
    assert set(told) == {"checker", "checker2"}
    assert set(told.values()) == {"queued"}
    # not the maker, not someone without the deciding permission, not a service account
    assert {"maker", "outsider", "robot"}.isdisjoint(told)
    assert sorted(message.to[0] for message in mail.outbox) == [
        "checker2@example.com",
        "checker@example.com",
    ]
    message = mail.outbox[0]
    assert f"#{request.pk}" in message.subject
    assert f"/approvals/{request.pk}/" in message.body
    assert "new office opens" in message.body  # the maker's reason
    assert "'code'" not in message.body and "{" not in message.body


@pytest.mark.django_db
def test_submit__inactive_people_and_deciders_are_not_told(
    people, operation, submit, maker, checker, checker2, make_user
):
    gone = make_user(Role.FINANCE_OFFICER, username="gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    request = ApprovalRequest(
        action="test.branch_create",
        maker=maker,
        approver_permission="approvals.decide",
        approvers_required=1,
        payload={},
        reason="x",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    names = {user.username for user in notices.eligible_checkers(request)}
    assert names == {"checker", "checker2"}
    stored = submit()
    services.approval_reject(actor=checker2, request_id=stored.pk, reason="no")
    stored.status = "pending"  # as if it were still open: who decided is not told again
    assert {user.username for user in notices.eligible_checkers(stored)} == {"checker"}


@pytest.mark.django_db
def test_partial_approval__others_told_again_in_app_without_second_email(
    people, submit, maker, checker, checker2, checker3, django_capture_on_commit_callbacks
):
    from cpms.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.filter(action="test.branch_create").update(approvers_required=2)
    with django_capture_on_commit_callbacks(execute=True):
        request = submit()
    first = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.approval_approve(actor=checker, request_id=request.pk, reason="ok")
    rows = Notification.objects.filter(related_type="approval_request", related_id=str(request.pk))
    again = rows.filter(subject__contains="another approval")
    assert {row.user.username for row in again} == {"checker2", "checker3"}
    assert again.get(user=checker2).email_status == "none"  # e-mailed at submission already
    assert len(mail.outbox) == first  # one e-mail per checker per request


@pytest.mark.django_db
def test_outcomes__maker_told_when_approved_rejected_or_expired(
    people, submit, maker, checker, django_capture_on_commit_callbacks
):
    approved = submit()
    rejected = submit()
    expired = submit()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.approval_approve(actor=checker, request_id=approved.pk, reason="ok")
        services.approval_reject(actor=checker, request_id=rejected.pk, reason="wrong city")
        ApprovalRequest.objects.filter(pk=expired.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        assert services.approval_expire_overdue() == 1
    to_maker = Notification.objects.filter(user=maker).order_by("pk")
    subjects = [row.subject for row in to_maker]
    assert any(f"#{approved.pk} was approved" in text for text in subjects)
    assert any(f"#{rejected.pk} was rejected" in text for text in subjects)
    assert any(f"#{expired.pk} expired" in text for text in subjects)
    rejection = to_maker.get(subject__contains=f"#{rejected.pk}")
    assert "wrong city" in rejection.body
    assert sorted(message.to[0] for message in mail.outbox) == ["maker@example.com"] * 3


@pytest.mark.django_db
def test_cancel__nobody_is_told(people, submit, maker):
    request = submit()
    before = Notification.objects.count()
    services.approval_cancel(actor=maker, request_id=request.pk)
    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_failed_execution__notices_roll_back_with_the_approval(people, operation, submit, checker):
    operation.fail_with = RuntimeError("disk full")
    request = submit()
    before = Notification.objects.count()
    with pytest.raises(ExecutionFailed):
        services.approval_approve(actor=checker, request_id=request.pk, reason="ok")
    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_awaiting_decision_count(people, submit, maker, checker, checker2, outsider):
    assert selectors.awaiting_decision_count(checker) == 0
    first = submit()
    submit()
    assert selectors.awaiting_decision_count(checker) == 2
    assert selectors.awaiting_decision_count(maker) == 0  # their own
    assert selectors.awaiting_decision_count(outsider) == 0  # no deciding permission
    services.approval_reject(actor=checker2, request_id=first.pk, reason="no")
    assert selectors.awaiting_decision_count(checker) == 1
    ApprovalRequest.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert selectors.awaiting_decision_count(checker) == 0


@pytest.mark.django_db
def test_awaiting_decision_count__is_cheap(people, submit, checker, django_assert_max_num_queries):
    for _ in range(5):
        submit()
    checker = type(checker).objects.get(pk=checker.pk)
    active_grants(checker)  # loaded once per request by the access layer, cached on the user
    with django_assert_max_num_queries(1):
        assert selectors.awaiting_decision_count(checker) == 5
