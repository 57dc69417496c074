"""Bank reconciliation in the permission matrix (format: tests/permission_rules.py)."""

from __future__ import annotations

import datetime

from tests.permission_rules import Rule

VIEW = ("ledger.view",)
ACT = ("ledger.reconcile",)
MULTIPART = "multipart upload: tested in tests/reconciliation/test_interfaces.py"

CONSOLE = {
    "reconciliation:list": Rule(VIEW),
    "reconciliation:detail": Rule(VIEW),
    "reconciliation:upload": Rule(ACT),
    "reconciliation:workspace": Rule(VIEW),
    "reconciliation:match": Rule(ACT, "POST"),
    "reconciliation:accept": Rule(ACT, "POST"),
    "reconciliation:unmatch": Rule(ACT, "POST"),
    "reconciliation:breaks": Rule(VIEW),
    "reconciliation:break-assign": Rule(ACT, "POST"),
    "reconciliation:break-resolve": Rule(ACT, "POST"),
    "reconciliation:profiles": Rule(VIEW),
    "reconciliation:profile-create": Rule(ACT),
    "reconciliation:report": Rule(VIEW),
    "reconciliation:report-xlsx": Rule(VIEW),
}

P = "/api/v1/reconciliation"
API = {
    ("GET", f"{P}/accounts"): Rule(VIEW),
    ("GET", f"{P}/statements"): Rule(VIEW),
    ("POST", f"{P}/statements"): Rule(ACT, "POST", skip=MULTIPART),
    ("POST", f"{P}/statements/base64"): Rule(ACT, "POST"),
    ("GET", f"{P}/statements/{{statement_id}}"): Rule(VIEW),
    ("POST", f"{P}/matches"): Rule(ACT, "POST"),
    ("POST", f"{P}/matches/{{match_id}}/undo"): Rule(ACT, "POST"),
    ("GET", f"{P}/breaks"): Rule(VIEW),
    ("POST", f"{P}/breaks/{{break_id}}/assign"): Rule(ACT, "POST"),
    ("POST", f"{P}/breaks/{{break_id}}/resolve"): Rule(ACT, "POST"),
    ("GET", f"{P}/profiles"): Rule(VIEW),
    ("POST", f"{P}/profiles"): Rule(ACT, "POST"),
    ("GET", f"{P}/report"): Rule(VIEW),
}

WRITE_BODIES = {
    f"{P}/statements/base64": {
        # ":20:M\n:25:MATRIX1\n..." is not needed: refused before parsing
        "content_base64": "OjIwOk0K",
        "account": "BANK:MATRIX:CNY",
    },
    f"{P}/matches": {"line_id": 1, "transfer_id": 1},
    f"{P}/matches/{{match_id}}/undo": {"reason": "matrix"},
    f"{P}/breaks/{{break_id}}/assign": {"owner_id": 1},
    f"{P}/breaks/{{break_id}}/resolve": {"note": "matrix"},
    f"{P}/profiles": {
        "name": "matrix",
        "label": "Matrix",
        "header_contains": ["Date", "Amount"],
        "date_column": "Date",
        "amount_column": "Amount",
    },
}

PLACEHOLDERS = {
    "{statement_id}": lambda world: str(world["recon_statement"].pk),
    "{match_id}": lambda world: str(world["recon_match"].pk),
    "{break_id}": lambda world: str(world["recon_break"].pk),
}


def build(world: dict) -> None:
    from django.db import transaction

    from cpms.ledger import services as ledger
    from cpms.ledger.choices import AccountPurpose
    from cpms.reconciliation import services
    from cpms.reconciliation.models import Break
    from cpms.users.choices import Role
    from tests.reconciliation.helpers import mt940

    finance = world["users"][Role.FINANCE_OFFICER]
    bank = ledger.account_open(
        actor=finance,
        purpose=AccountPurpose.CLIENT_BANK,
        asset="CNY",
        code="BANK:MATRIX:CNY",
        bank_account_identifier="MATRIX1",
    )
    with transaction.atomic():
        other = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.SETTLEMENT)
        ledger.post_internal(
            actor=finance,
            specs=[
                ledger.TransferSpec(
                    debit_account=bank,
                    credit_account=other,
                    amount=5000,
                    reference="M-1",
                    value_date=datetime.date(2025, 3, 3),
                    metadata={},
                    idempotency_key="matrix:recon:1",
                )
            ],
        )
    day = datetime.date(2025, 3, 3)
    result = services.statement_import(
        actor=finance,
        data=mt940([(day, 5000, "M-1"), (day, -100, "FEE")], account="MATRIX1"),
        filename="matrix.sta",
    )
    world["recon_bank"] = bank
    world["recon_statement"] = result.statements[0]
    world["recon_match"] = result.statements[0].lines.get(index=0).matches.get()
    world["recon_break"] = Break.objects.filter(account=bank).first()


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in ("reconciliation:workspace", "reconciliation:match", "reconciliation:accept"):
        return {"pk": world["recon_bank"].pk}
    if name == "reconciliation:detail":
        return {"pk": world["recon_statement"].pk}
    if name == "reconciliation:unmatch":
        return {"pk": world["recon_match"].pk}
    if name in ("reconciliation:break-assign", "reconciliation:break-resolve"):
        return {"pk": world["recon_break"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.reconciliation.models import (
        BankStatement,
        Break,
        CsvProfileRecord,
        Match,
    )

    return (
        BankStatement.objects.count(),
        Match.objects.filter(undone_at__isnull=True).count(),
        Break.objects.filter(status="open").count(),
        Break.objects.exclude(owner=None).count(),
        CsvProfileRecord.objects.count(),
    )
