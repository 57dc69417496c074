"""Loan servicing in the permission matrix (format: tests/permission_rules.py)."""

from __future__ import annotations

import datetime

from tests.permission_rules import Rule

VIEW = ("ledger.view",)
POST = ("ledger.post",)

CONSOLE = {
    "loans:list": Rule(VIEW),
    "loans:overdue": Rule(VIEW),
    "loans:detail": Rule(VIEW, scoped=True),
    "loans:disburse": Rule(POST, "POST", scoped=True),
    "loans:accrue": Rule(POST, "POST", scoped=True),
    "loans:repay": Rule(POST, "POST", scoped=True),
    "loans:early-repay": Rule(POST, "POST", scoped=True),
}

API = {
    ("GET", "/api/v1/loans/"): Rule(VIEW),
    ("GET", "/api/v1/loans/{loan_id}"): Rule(VIEW, scoped=True),
    ("POST", "/api/v1/loans/{loan_id}/disburse"): Rule(POST, "POST", scoped=True),
    ("POST", "/api/v1/loans/{loan_id}/repay"): Rule(POST, "POST", scoped=True),
    ("POST", "/api/v1/loans/{loan_id}/early-repay"): Rule(POST, "POST", scoped=True),
}

WRITE_BODIES = {
    "/api/v1/loans/{loan_id}/disburse": {"value_date": "2026-01-15", "to": "client_bank"},
    "/api/v1/loans/{loan_id}/repay": {"amount_minor": 100, "value_date": "2026-02-15"},
    "/api/v1/loans/{loan_id}/early-repay": {"value_date": "2026-02-15"},
}

PLACEHOLDERS = {"{loan_id}": lambda world: str(world["loan"].pk)}


def build(world: dict) -> None:
    from cpms.holdings.services import holding_register
    from cpms.loans.services import loan_disburse
    from cpms.users.choices import Role

    world["loan"] = holding_register(
        actor=world["users"][Role.RELATIONSHIP_MANAGER],
        customer=world["customer"],
        kind="loan",
        identifier="MATRIX-LN-1",
        details={
            "principal_minor": 300_000,
            "currency": "CNY",
            "annual_rate_percent": "12",
            "term_months": 3,
            "method": "equal_principal",
            "start_date": datetime.date(2026, 1, 15),
        },
    )
    loan_disburse(
        actor=world["users"][Role.FINANCE_OFFICER],
        holding=world["loan"],
        value_date=datetime.date(2026, 1, 15),
        to="client_bank",
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in (
        "loans:detail",
        "loans:disburse",
        "loans:accrue",
        "loans:repay",
        "loans:early-repay",
    ):
        return {"pk": world["loan"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.ledger.models import Transfer
    from cpms.loans.models import LoanAccrual, LoanRepayment, LoanServicing, RepaymentAllocation

    return (
        Transfer.objects.count(),
        LoanServicing.objects.count(),
        LoanAccrual.objects.count(),
        LoanRepayment.objects.count(),
        RepaymentAllocation.objects.count(),
    )
