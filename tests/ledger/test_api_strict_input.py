"""Money on the API is a strict, bounded integer, and a JSON body is checked before anything
reads it: each of these answered 500 or was silently coerced before (issue 10, items 7 and 8)."""

from __future__ import annotations

import pytest
from django.test import Client

from cpms.approvals.models import ApprovalRequest
from cpms.audit.models import AuditEntry
from cpms.ledger.models import Transfer


def client_for(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def nothing_written(before: tuple[int, int, int]) -> bool:
    return (
        Transfer.objects.count(),
        ApprovalRequest.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def counts() -> tuple[int, int, int]:
    return (
        Transfer.objects.count(),
        ApprovalRequest.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "amount",
    [2**63, 2**63 - 1, 10**15 + 1, -(2**63), "100", 100.0, True, "1e3"],
    ids=["2^63", "2^63-1", "above-bound", "-2^63", "string", "float", "bool", "exp-string"],
)
def test_transfer_post__amount_must_be_a_bounded_json_integer(
    finance, bank, cash, token_for, amount
):
    # given a transfer above the approval threshold would need an approval request (2^63 once
    # reached approval_submit and overflowed its bigint column)
    client = client_for(token_for(finance, scopes=["*:write"]))
    before = counts()
    # when
    response = client.post(
        "/api/v1/ledger/transfers",
        {
            "debit_account": bank.code,
            "credit_account": cash.code,
            "amount_minor": amount,
            "idempotency_key": "strict-1",
        },
        content_type="application/json",
    )
    # then
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "ledger.invalid_transfer"
    assert list(error["fields"]) == ["amount_minor"]
    assert nothing_written(before)


@pytest.mark.django_db
def test_transfer_post__largest_allowed_amount_is_not_a_server_error(
    finance, bank, cash, token_for
):
    client = client_for(token_for(finance, scopes=["*:write"]))
    response = client.post(
        "/api/v1/ledger/transfers",
        {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 10**15},
        content_type="application/json",
    )
    # held for approval (above the threshold): the request row stores the amount
    assert response.status_code == 201, response.content
    assert ApprovalRequest.objects.get().amount_minor == 10**15


@pytest.mark.django_db
def test_transfer_post__json_nested_100000_deep_is_422(finance, token_for):
    client = client_for(token_for(finance, scopes=["*:write"]))
    before = counts()
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/ledger/transfers", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_failed",
            "message": "The input is not valid.",
            "fields": {"request": "JSON may be nested at most 32 levels deep."},
        }
    }
    assert nothing_written(before)


@pytest.mark.django_db
def test_transfer_post__nul_in_a_string_names_the_field(finance, bank, cash, token_for):
    client = client_for(token_for(finance, scopes=["*:write"]))
    before = counts()
    response = client.post(
        "/api/v1/ledger/transfers",
        {
            "transfers": [
                {"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 1},
                {
                    "debit_account": bank.code,
                    "credit_account": cash.code,
                    "amount_minor": 1,
                    "reference": "a\x00b",
                },
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "transfers[1].reference": "Text must not contain NUL characters (\\x00)."
    }
    assert nothing_written(before)
