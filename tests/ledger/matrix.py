"""Ledger console pages and API operations in the permission matrix (format:
tests/permission_rules.py). Reads need ledger.view, writes ledger.post, the period close
ledger.close; the world's customer accounts are out of the far-branch persona's scope (404)."""

from __future__ import annotations

from tests.permission_rules import Probe, Rule

VIEW = ("ledger.view",)
POST = ("ledger.post",)
CLOSE = ("ledger.close",)

CONSOLE = {
    "ledger:accounts": Rule(VIEW),
    "ledger:account": Rule(VIEW, scoped=True),
    "ledger:statement": Rule(VIEW, scoped=True),
    "ledger:statement-file": Rule(VIEW, scoped=True),
    "ledger:transfers": Rule(VIEW),
    "ledger:transfer-new": Rule(POST),
    "ledger:transfer": Rule(VIEW, scoped=True),
    "ledger:reverse": Rule(POST, scoped=True),
    "ledger:holds": Rule(VIEW),
    "ledger:hold-post": Rule(POST, "POST", scoped=True),
    "ledger:hold-void": Rule(POST, "POST", scoped=True),
    "ledger:periods": Rule(CLOSE),
    "ledger:trial-balance": Rule(VIEW),
}

_ROOT = "/api/v1/ledger"
API = {
    ("POST", f"{_ROOT}/transfers"): Rule(POST, "POST"),
    ("GET", f"{_ROOT}/transfers"): Rule(VIEW),
    ("GET", f"{_ROOT}/transfers/{{transfer_id}}"): Rule(VIEW, scoped=True),
    ("POST", f"{_ROOT}/transfers/{{transfer_id}}/reverse"): Rule(POST, "POST", scoped=True),
    ("GET", f"{_ROOT}/holds"): Rule(VIEW),
    ("POST", f"{_ROOT}/holds/{{hold_id}}/post"): Rule(POST, "POST", scoped=True),
    ("POST", f"{_ROOT}/holds/{{hold_id}}/void"): Rule(POST, "POST", scoped=True),
    ("GET", f"{_ROOT}/accounts"): Rule(VIEW),
    ("POST", f"{_ROOT}/accounts"): Rule(POST, "POST"),
    ("GET", f"{_ROOT}/accounts/{{account_ref}}"): Rule(VIEW, scoped=True),
    ("GET", f"{_ROOT}/accounts/{{account_ref}}/statement"): Rule(VIEW, scoped=True),
    ("GET", f"{_ROOT}/trial-balance"): Rule(VIEW),
    ("GET", f"{_ROOT}/periods"): Rule(VIEW),
    ("POST", f"{_ROOT}/periods/close"): Rule(CLOSE, "POST"),
}

WRITE_BODIES = {
    f"{_ROOT}/transfers": {
        "debit_account": "INT:CLIENT_BANK:CNY",
        "credit_account": "INT:FEES:CNY",
        "amount_minor": 1,
    },
    f"{_ROOT}/transfers/{{transfer_id}}/reverse": {"reason": "matrix"},
    f"{_ROOT}/holds/{{hold_id}}/post": {"reason": "matrix"},
    f"{_ROOT}/holds/{{hold_id}}/void": {"reason": "matrix"},
    f"{_ROOT}/accounts": {"purpose": "suspense", "asset": "CNY", "code": "MATRIX:SUSPENSE"},
    f"{_ROOT}/periods/close": {"through": "2000-01-31", "reason": "matrix"},
}

PLACEHOLDERS = {
    "{account_ref}": lambda world: str(world["ledger_cash"].pk),
    "{transfer_id}": lambda world: str(world["ledger_transfer"].pk),
    "{hold_id}": lambda world: str(world["ledger_hold"].pk),
}


def build(world: dict) -> None:
    """The world's customer gets a loan account and a money account (both customer accounts,
    so out of the far branch's scope), a posted disbursement and a plain hold."""
    from django.db import transaction

    from cpms.ledger import services
    from cpms.ledger.choices import AccountPurpose
    from cpms.users.choices import Role

    finance = world["users"][Role.FINANCE_OFFICER]
    customer = world["customer"]
    with transaction.atomic():
        cash = services.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )
        loan = services.customer_account(
            customer=customer, purpose=AccountPurpose.LOAN_PRINCIPAL, asset_code="CNY"
        )
        services.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
        services.internal_account(asset_code="CNY", purpose=AccountPurpose.FEES)
    world["ledger_cash"] = cash
    world["ledger_transfer"] = services.transfer_post(
        actor=finance,
        data={
            "debit_account": loan.code,
            "credit_account": cash.code,
            "amount_minor": 10_000,
            "reference": "MATRIX-LOAN",
        },
    ).transfer
    world["ledger_hold"] = services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": loan.code,
            "amount_minor": 100,
            "pending": True,
        },
    ).transfer


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in ("ledger:account", "ledger:statement"):
        return {"pk": world["ledger_cash"].pk}
    if name == "ledger:statement-file":
        return {"pk": world["ledger_cash"].pk, "fmt": "xlsx"}
    if name in ("ledger:transfer", "ledger:reverse"):
        return {"pk": world["ledger_transfer"].pk}
    if name in ("ledger:hold-post", "ledger:hold-void"):
        return {"pk": world["ledger_hold"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.ledger.models import Account, Balance, PeriodClose, Transfer

    return (
        Transfer.objects.count(),
        Account.objects.count(),
        PeriodClose.objects.count(),
        tuple(
            Balance.objects.order_by("pk").values_list(
                "debits_posted", "credits_posted", "debits_pending", "credits_pending"
            )
        ),
    )


def _transfer(side: str):
    other = "credit_account" if side == "debit_account" else "debit_account"
    return lambda world, ref: {side: str(ref), other: "INT:FEES:CNY", "amount_minor": 1}


_CASH_ID = lambda world: world["ledger_cash"].pk  # noqa: E731
_CASH_CODE = lambda world: world["ledger_cash"].code  # noqa: E731
# the world's customer account named in bodies and query strings, by id and by code
PROBES = [
    Probe(("POST", f"{_ROOT}/transfers"), _CASH_ID, _transfer("debit_account")),
    Probe(("POST", f"{_ROOT}/transfers"), _CASH_ID, _transfer("credit_account")),
    Probe(("POST", f"{_ROOT}/transfers"), _CASH_CODE, _transfer("credit_account")),
    Probe(
        ("POST", f"{_ROOT}/transfers"),
        _CASH_ID,
        lambda world, ref: {"transfers": [_transfer("debit_account")(world, ref)] * 2},
    ),
    Probe(("GET", f"{_ROOT}/transfers"), _CASH_ID, path=f"{_ROOT}/transfers?account={{ref}}"),
    Probe(("GET", f"{_ROOT}/transfers"), _CASH_CODE, path=f"{_ROOT}/transfers?account={{ref}}"),
    Probe(
        ("GET", f"{_ROOT}/accounts/{{account_ref}}"), _CASH_CODE, path=f"{_ROOT}/accounts/{{ref}}"
    ),
    Probe(
        ("GET", f"{_ROOT}/accounts/{{account_ref}}/statement"),
        _CASH_CODE,
        path=f"{_ROOT}/accounts/{{ref}}/statement?format=xlsx",
    ),
    Probe(
        ("POST", f"{_ROOT}/accounts"),
        lambda world: world["customer"].pk,
        lambda world, ref: {"purpose": "customer_points", "asset": "PTS", "customer_id": ref},
    ),
]
