"""Maker-checker holds against an administrator who holds `tokens.manage` (issue 10, item 1):
the controls tested together, as an attacker would combine them. Before the fix an
administrator minted `*:write` tokens for finance1 and finance2 and made and approved a held
transfer alone."""

from __future__ import annotations

import pytest
from django.test import Client

from cpms.access.staff import service_account_create
from cpms.approvals.models import ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.ledger.models import Transfer
from cpms.users import mfa
from cpms.users.choices import Role
from cpms.users.models import ApiToken
from cpms.users.services import security
from tests.conftest import PASSWORD

HELD = 5_000_001  # above the default ledger.transfer approval threshold


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def administrator(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin1", display_name="管理员")


@pytest.mark.django_db
def test_administrator_cannot_mint_tokens_for_the_finance_officers(
    administrator, finance, checker, token_for, enrol
):
    secret = enrol(administrator)
    client = bearer(token_for(administrator, scopes=["*:write"]))
    tokens_before = ApiToken.objects.count()
    for person in (finance, checker):
        response = client.post(
            "/api/v1/tokens",
            {
                "user": person.username,
                "scopes": ["*:write"],
                "password": PASSWORD,
                "code": mfa.totp_code(secret),
            },
            content_type="application/json",
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "token.other_person"
    assert ApiToken.objects.count() == tokens_before
    assert not AuditEntry.objects.filter(action="token.created", actor=administrator).exists()


@pytest.mark.django_db
def test_token_issuer_cannot_approve_what_their_service_account_made(
    administrator, finance, checker, bank, cash, token_for, enrol
):
    # given an integration's service account with the finance role, its token issued by the
    # administrator (after re-authentication with password and TOTP)
    secret = enrol(administrator)
    service = service_account_create(
        actor=administrator,
        username="bank-feed",
        display_name="银行直连",
        roles=[Role.FINANCE_OFFICER],
        branch=finance.branch,
    )
    admin_client = bearer(token_for(administrator, scopes=["*:write"]))
    issued = admin_client.post(
        "/api/v1/tokens",
        {
            "user": "bank-feed",
            "scopes": ["ledger:write", "approvals:write"],
            "password": PASSWORD,
            "code": mfa.totp_code(secret),
        },
        content_type="application/json",
    )
    assert issued.status_code == 201, issued.content
    assert issued.json()["service_account"] is True
    assert issued.json()["created_by"] == "admin1"
    service_client = bearer(issued.json()["token"])
    # when the service account makes a held transfer
    made = service_client.post(
        "/api/v1/ledger/transfers",
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": HELD},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    request_id = made.json()["approval_request_ids"][0]
    request = ApprovalRequest.objects.get(pk=request_id)
    assert request.maker == service
    assert request.maker_token.prefix == issued.json()["prefix"]
    # then the administrator who issued its token cannot decide it
    refused = admin_client.post(
        f"/api/v1/approvals/requests/{request_id}/approve",
        {"reason": "ok"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "approvals.self_approval"
    assert Transfer.objects.get(pk=made.json()["transfers"][0]["id"]).kind == "pending"
    # and the service account cannot decide a request of a person either
    by_person = bearer(token_for(finance, scopes=["ledger:write"])).post(
        "/api/v1/ledger/transfers",
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": HELD},
        content_type="application/json",
    )
    other_id = by_person.json()["approval_request_ids"][0]
    robot = service_client.post(
        f"/api/v1/approvals/requests/{other_id}/approve",
        {"reason": "ok"},
        content_type="application/json",
    )
    assert robot.status_code == 403
    assert robot.json()["error"]["code"] == "approvals.not_approver"
    # while a second person approves the service account's request
    approved = bearer(token_for(checker, scopes=["approvals:write"])).post(
        f"/api/v1/approvals/requests/{request_id}/approve",
        {"reason": "checked against the bank advice"},
        content_type="application/json",
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "executed"
    # every entry written through a token names it
    submitted = AuditEntry.objects.get(action="approval.requested", object_id=str(request_id))
    assert submitted.channel == f"api:{issued.json()['prefix']}"
    assert submitted.actor == service


@pytest.mark.django_db
def test_service_account_cannot_sign_in(administrator, branch):
    service_account_create(
        actor=administrator, username="feed", roles=[Role.FINANCE_OFFICER], branch=branch
    )
    result = security.login_attempt(username="feed", password="")
    assert result.outcome == security.LoginOutcome.REFUSED
