"""`cpms approvals ...`"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalRequest


def run(*args: str) -> str:
    out = StringIO()
    call_command("approvals", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_approvals_list__shows_visible_requests(submit, checker):
    request = submit()
    output = run("list", "--user", "checker")
    assert f"{request.pk:>6} pending" in output
    assert "Create branch N01" in output


@pytest.mark.django_db
def test_approvals_approve__executes(submit, checker, operation):
    request = submit()
    assert run("approve", str(request.pk), "--user", "checker", "--reason", "ok") == (
        f"Request {request.pk}: executed.\n"
    )
    assert operation.calls == [request.pk]


@pytest.mark.django_db
def test_approvals_approve__maker_is_refused(submit, maker, operation):
    request = submit()
    with pytest.raises(CommandError, match=r"\[approvals.self_approval\]"):
        run("approve", str(request.pk), "--user", "maker")
    assert ApprovalDecision.objects.count() == 0
    assert operation.calls == []


@pytest.mark.django_db
def test_approvals_reject__needs_reason(submit, checker):
    request = submit()
    with pytest.raises(CommandError, match="A reason is required"):
        run("reject", str(request.pk), "--user", "checker")
    assert run("reject", str(request.pk), "--user", "checker", "--reason", "no") == (
        f"Request {request.pk}: rejected.\n"
    )


@pytest.mark.django_db
def test_approvals_expire__marks_overdue(submit):
    request = submit()
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=5)
    )
    assert run("expire") == "Expired 1 request(s).\n"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXPIRED


@pytest.mark.django_db
def test_approvals_list__user_without_permission_is_refused(outsider):
    with pytest.raises(CommandError, match="may not use approvals"):
        run("list", "--user", "outsider")
