"""Issue 11 item 10: KYC verification has four eyes. A relationship manager asks; a second
person holding approvals.decide approves; the maker cannot approve their own request."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from cpms.approvals.errors import NotApprover, SelfApproval
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_approve, approval_reject
from cpms.audit.models import AuditEntry
from cpms.customers import services
from cpms.customers.errors import KycNeedsApproval, KycRequestPending
from cpms.customers.models import Customer
from tests.customers.conftest import individual


def test_relationship_manager_cannot_mark_kyc_verified_alone(rm1, customer):
    with pytest.raises(KycNeedsApproval):
        services.customer_update(actor=rm1, customer=customer, data={"kyc_status": "verified"})
    with pytest.raises(KycNeedsApproval):
        services.customer_register(
            actor=rm1,
            data=individual(
                legal_name="李四",
                identity_number="360426199101010071",
                phone="13900139000",
                kyc_status="verified",
                relationship_manager_id=rm1.pk,
            ),
        )
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"


def test_kyc_request__second_person_approves(rm1, compliance, customer):
    request = services.kyc_verify_request(
        actor=rm1, customer=customer, reason="ID card and proof of address seen"
    )

    assert isinstance(request, ApprovalRequest)
    assert request.action == "customers.kyc_verify"
    assert "张三" in request.summary and customer.customer_number in request.summary
    assert services.kyc_pending_request(customer) == request
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"
    with pytest.raises(KycRequestPending):
        services.kyc_verify_request(actor=rm1, customer=customer)

    approval_approve(actor=compliance, request_id=request.pk)

    customer.refresh_from_db()
    assert customer.kyc_status == "verified"
    assert customer.kyc_reviewed_at is not None
    assert customer.kyc_next_review_at is not None
    assert services.kyc_pending_request(customer) is None
    entry = AuditEntry.objects.filter(action="customer.updated", object_id=str(customer.pk)).latest(
        "pk"
    )
    assert entry.after["kyc_status"] == "verified"
    assert entry.after["approved_by_id"] == compliance.pk
    assert entry.actor_id == rm1.pk


def test_kyc_request__maker_cannot_approve_and_rm_is_no_approver(rm1, rm2, customer):
    request = services.kyc_verify_request(actor=rm1, customer=customer)

    with pytest.raises(SelfApproval):
        approval_approve(actor=rm1, request_id=request.pk)
    with pytest.raises(NotApprover):
        approval_approve(actor=rm2, request_id=request.pk)
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"


def test_kyc_request__rejection_changes_nothing(rm1, compliance, customer):
    request = services.kyc_verify_request(actor=rm1, customer=customer)
    approval_reject(actor=compliance, request_id=request.pk, reason="Address proof too old")
    customer.refresh_from_db()
    assert customer.kyc_status == "pending"
    assert services.kyc_pending_request(customer) is None


def test_kyc_request__policy_off_verifies_at_once(rm1, customer, kyc_four_eyes_off):
    outcome = services.kyc_verify_request(actor=rm1, customer=customer)
    assert isinstance(outcome, Customer)
    customer.refresh_from_db()
    assert customer.kyc_status == "verified"


def test_kyc_api__202_pending_then_409(rm1, customer, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(rm1, scopes=['customers:write'])}")
    url = f"/api/v1/customers/{customer.pk}/kyc-verification"

    first = client.post(url, data=json.dumps({"reason": "seen"}), content_type="application/json")
    again = client.post(url, data=json.dumps({}), content_type="application/json")

    assert first.status_code == 202
    assert first.json()["status"] == "pending"
    assert first.json()["customer_number"] == customer.customer_number
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "customers.kyc_request_pending"


def test_kyc_console__request_shows_pending_badge(rm1, rm1_client, customer):
    detail = reverse("customers:detail", args=[customer.pk])
    assert 'action="{}"'.format(reverse("customers:kyc-request", args=[customer.pk])) in (
        rm1_client.get(detail).content.decode()
    )

    response = rm1_client.post(
        reverse("customers:kyc-request", args=[customer.pk]), {"reason": "证件已核对"}
    )

    assert response.status_code == 302
    request = ApprovalRequest.objects.get(action="customers.kyc_verify")
    page = rm1_client.get(detail).content.decode()
    assert reverse("approvals:detail", args=[request.pk]) in page
    assert reverse("customers:kyc-request", args=[customer.pk]) not in page


def test_kyc_cli__requests_verification(rm1, customer, capsys):
    call_command("customers", "--actor", "rm1", "kyc-verify", customer.customer_number)
    assert "approval request #" in capsys.readouterr().out
    assert ApprovalRequest.objects.filter(action="customers.kyc_verify").count() == 1


def test_register_form__offers_no_verified_kyc_and_picks_the_manager_by_name(rm1_client, rm1):
    page = rm1_client.get(reverse("customers:create")).content.decode()
    assert 'value="verified"' not in page
    assert "/pick/relationship_manager/" in page
    assert "经理一" in page  # the current user, shown by name (the picker's chosen label)
    assert "(user id)" not in page
