"""Console pages of the maker-checker."""

from __future__ import annotations

import pytest

from cpms.approvals import services
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalDecision, ApprovalPolicy
from cpms.audit.models import AuditEntry
from tests.approvals.conftest import TEST_ACTION


@pytest.mark.django_db
def test_inbox__anonymous_is_sent_to_sign_in(client):
    for path in ("/approvals/", "/approvals/1/", "/approvals/policies/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next=")
    response = client.post("/approvals/1/approve", {"reason": "x"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_inbox__staff_without_approvals_permission_is_403(client_for, outsider, submit):
    request = submit()
    client = client_for(outsider)
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    for path in ("/approvals/", f"/approvals/{request.pk}/", "/approvals/policies/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/approvals/{request.pk}/approve", {"reason": "x"}).status_code == 403
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    # nothing changed; each refusal is recorded (access.denied) and nothing else
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert AuditEntry.objects.filter(action="access.denied").count() == 4


@pytest.mark.django_db
def test_inbox__awaiting_tab_lists_others_requests_only(client_for, submit, checker):
    theirs = submit()
    own = services.approval_submit(
        actor=checker, action=TEST_ACTION, payload={"code": "OWN", "name": "自己"}, reason="r"
    ).request
    content = client_for(checker).get("/approvals/").content.decode()
    assert f'href="/approvals/{theirs.pk}/"' in content
    assert f'href="/approvals/{own.pk}/"' not in content
    assert "Create branch N01" in content
    mine = client_for(checker).get("/approvals/?tab=mine").content.decode()
    assert f'href="/approvals/{own.pk}/"' in mine
    assert f'href="/approvals/{theirs.pk}/"' not in mine


@pytest.mark.django_db
def test_inbox__all_tab_only_for_configure_holders(client_for, submit, checker, checker2):
    request = submit()
    assert client_for(checker).get("/approvals/?tab=all").status_code == 404
    content = client_for(checker2).get("/approvals/?tab=all").content.decode()
    assert f'href="/approvals/{request.pk}/"' in content


@pytest.mark.django_db
def test_inbox__maker_defaults_to_my_requests(client_for, submit, maker):
    request = submit()
    response = client_for(maker).get("/approvals/")
    assert response.status_code == 200
    assert f'href="/approvals/{request.pk}/"' in response.content.decode()


@pytest.mark.django_db
def test_detail__offers_decision_to_checker_not_to_maker(client_for, submit, maker, checker):
    request = submit()
    checker_page = client_for(checker).get(f"/approvals/{request.pk}/").content.decode()
    assert f'action="/approvals/{request.pk}/approve"' in checker_page
    assert "Create branch N01 新分行1" in checker_page
    maker_page = client_for(maker).get(f"/approvals/{request.pk}/").content.decode()
    assert f'action="/approvals/{request.pk}/approve"' not in maker_page
    assert f'action="/approvals/{request.pk}/cancel"' in maker_page


@pytest.mark.django_db
def test_detail__invisible_request_is_404(client_for, submit, make_user):
    request = submit()
    other = make_user("relationship_manager", username="rm-y")
    assert client_for(other).get(f"/approvals/{request.pk}/").status_code == 404
    response = client_for(other).post(f"/approvals/{request.pk}/cancel")
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


@pytest.mark.django_db
def test_approve__checker_executes_from_the_console(client_for, submit, checker, operation):
    request = submit()
    response = client_for(checker).post(f"/approvals/{request.pk}/approve", {"reason": "fine"})
    assert response.status_code == 302
    assert response["Location"] == f"/approvals/{request.pk}/"
    request.refresh_from_db()
    assert request.status == ApprovalStatus.EXECUTED
    assert operation.calls == [request.pk]
    assert AuditEntry.objects.get(action="approval.executed").channel == "console"


@pytest.mark.django_db
def test_approve__maker_post_is_refused_and_changes_nothing(client_for, operation, checker):
    request = services.approval_submit(
        actor=checker, action=TEST_ACTION, payload={"code": "S", "name": "s"}, reason="r"
    ).request
    client = client_for(checker)
    audit_before = AuditEntry.objects.exclude(action="access.denied").count()
    response = client.post(f"/approvals/{request.pk}/approve", {"reason": "me"}, follow=True)
    assert response.status_code == 200
    assert "The maker of a request cannot approve or reject it." in response.content.decode()
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == audit_before
    assert operation.calls == []


@pytest.mark.django_db
def test_reject__without_reason_shows_the_error(client_for, submit, checker):
    request = submit()
    response = client_for(checker).post(f"/approvals/{request.pk}/reject", {}, follow=True)
    assert "A reason is required." in response.content.decode()
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING
    client_for(checker).post(f"/approvals/{request.pk}/reject", {"reason": "no"})
    request.refresh_from_db()
    assert request.status == ApprovalStatus.REJECTED


@pytest.mark.django_db
def test_approve__get_is_not_allowed(client_for, submit, checker):
    request = submit()
    assert client_for(checker).get(f"/approvals/{request.pk}/approve").status_code == 405


@pytest.mark.django_db
def test_policies__listed_for_approvers_editable_for_configurers(client_for, checker, configurer):
    content = client_for(checker).get("/approvals/policies/").content.decode()
    assert "ledger.transfer" in content
    assert 'href="/approvals/policies/ledger.transfer/"' not in content
    content = client_for(configurer).get("/approvals/policies/").content.decode()
    assert 'href="/approvals/policies/ledger.transfer/"' in content


@pytest.mark.django_db
def test_policy_edit__refused_without_configure_and_changes_nothing(client_for, checker):
    client = client_for(checker)
    assert client.get("/approvals/policies/ledger.transfer/").status_code == 403
    response = client.post(
        "/approvals/policies/ledger.transfer/",
        {
            "enabled": "",
            "approvers_required": 3,
            "expiry_hours": 1,
            "approver_permission": "approvals.decide",
        },
    )
    assert response.status_code == 403
    assert ApprovalPolicy.objects.get(action="ledger.transfer").approvers_required == 1
    assert AuditEntry.objects.filter(action="approval.policy_changed").count() == 0


@pytest.mark.django_db
def test_policy_edit__configurer_saves_and_is_audited(client_for, configurer):
    client = client_for(configurer)
    assert client.get("/approvals/policies/ledger.transfer/").status_code == 200
    response = client.post(
        "/approvals/policies/ledger.transfer/",
        {
            "enabled": "on",
            "approvers_required": 2,
            "threshold": "50,000.00",
            "currency": "cny",
            "expiry_hours": 24,
            "approver_permission": "approvals.decide",
            "reason": "two eyes more",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/approvals/policies/"
    entry = AuditEntry.objects.get(action="approval.policy_changed")
    assert (entry.before, entry.after, entry.reason) == (
        {"approvers_required": 1},
        {"approvers_required": 2},
        "two eyes more",
    )


@pytest.mark.django_db
def test_policy_edit__invalid_combination_is_shown(client_for, configurer):
    response = client_for(configurer).post(
        "/approvals/policies/holdings.dispose/",
        {
            "enabled": "on",
            "approvers_required": 1,
            "threshold": "1.00",
            "currency": "",
            "expiry_hours": 72,
            "approver_permission": "approvals.decide",
        },
    )
    assert response.status_code == 200
    assert "A threshold needs a currency." in response.content.decode()
    assert ApprovalPolicy.objects.get(action="holdings.dispose").threshold_minor is None


@pytest.mark.django_db
def test_policy_edit__threshold_refusal_is_shown_next_to_the_threshold(client_for, configurer):
    response = client_for(configurer).post(
        "/approvals/policies/holdings.dispose/",
        {
            "enabled": "on",
            "approvers_required": 1,
            "threshold": "",
            "currency": "CNY",
            "expiry_hours": 72,
            "approver_permission": "approvals.decide",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"threshold": ["A currency needs a threshold."]}


@pytest.mark.django_db
def test_navigation__approvals_entry_for_approvers(client_for, checker, outsider):
    assert 'href="/approvals/"' in client_for(checker).get("/").content.decode()
    assert 'href="/approvals/"' not in client_for(outsider).get("/").content.decode()
