"""Demo bank reconciliation: an MT940 statement of the CNY client-money bank account generated
from the ledger's posted transfers on it (the ledger demo posts them; when there are none, a few
are posted here), imported through the service so every line auto-matches, plus one bank fee
the ledger does not know -> one open break. Deterministic for the seed (all randomness drawn
first); idempotent (a second run finds the statement and does nothing)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from cpms.access.actors import staff_with
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account
from cpms.reconciliation import selectors, services
from cpms.reconciliation.models import RECONCILE_PERMISSION, BankStatement

DEMO_IDENTIFIER = "CN-BOC-4563-5180-0000-1234"
STATEMENT_ID = "DEMO-RECON-1"
MAX_LINES = 40


def _amount(minor: int) -> str:
    return f"{abs(minor) // 100},{abs(minor) % 100:02d}"


def mt940_text(
    *,
    account: str,
    currency: str,
    statement_id: str,
    opening: int,
    opening_date: datetime.date,
    lines: list[tuple[datetime.date, int, str, str]],
) -> bytes:
    """An MT940 statement: lines are (value date, signed minor amount, reference, narrative)."""
    closing = opening + sum(amount for _day, amount, _ref, _text in lines)
    last = max([opening_date, *(day for day, _a, _r, _t in lines)])
    out = [f":20:{statement_id}", f":25:{account}", ":28C:1"]
    out.append(
        f":60F:{'C' if opening >= 0 else 'D'}{opening_date:%y%m%d}{currency}{_amount(opening)}"
    )
    for day, amount, reference, text in lines:
        mark = "C" if amount > 0 else "D"
        out.append(f":61:{day:%y%m%d}{day:%m%d}{mark}{_amount(amount)}NTRF{reference or 'NONREF'}")
        out.append(f":86:{text}"[:65])
    out.append(f":62F:{'C' if closing >= 0 else 'D'}{last:%y%m%d}{currency}{_amount(closing)}")
    out.append("-")
    return ("\r\n".join(out) + "\r\n").encode()


def _post_some(actor: Any, bank: Account, amounts: list[int], today: datetime.date) -> None:
    with transaction.atomic():
        settlement = ledger.internal_account(
            asset_code="CNY", purpose=AccountPurpose.SETTLEMENT, actor=actor
        )
        specs = [
            ledger.TransferSpec(
                debit_account=bank,
                credit_account=settlement,
                amount=amount,
                reference=f"DEMO-IN-{number}",
                value_date=today,
                metadata={"demo": "reconciliation"},
                idempotency_key=f"demo:reconciliation:in:{number}",
            )
            for number, amount in enumerate(amounts, start=1)
        ]
        posted = ledger.post_internal(actor=actor, specs=specs)
        if not posted.replayed:
            audit_record(
                actor=actor,
                action=AuditAction.TRANSFER_BATCH_POSTED,
                object_type="ledger.transfer",
                object_id=posted.transfers[0].pk,
                after={"transfer_ids": [t.pk for t in posted.transfers], "demo": True},
            )


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    fee = rng.randrange(5, 50) * 100
    fallback_amounts = [rng.randrange(1_000, 50_000) * 100 for _ in range(4)]
    actor = next(iter(staff_with(RECONCILE_PERMISSION)), None)
    if actor is None:
        return []
    today = timezone.localdate()
    with transaction.atomic():
        bank = ledger.internal_account(
            asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK, actor=actor
        )
    if BankStatement.objects.filter(account=bank, statement_id__startswith=STATEMENT_ID).exists():
        return []
    if not selectors.bank_transfers(bank).exists():
        _post_some(actor, bank, fallback_amounts, today)
    transfers = list(selectors.unmatched_transfers(bank).order_by("-value_date", "-pk")[:MAX_LINES])
    transfers.sort(key=lambda t: (t.value_date, t.pk))
    if not transfers:
        return []
    start = transfers[0].value_date
    opening = selectors.ledger_balance_at(bank, start - datetime.timedelta(days=1))
    lines = [
        (t.value_date, selectors.signed_amount(bank, t), t.reference[:16], t.reference or "转账")
        for t in transfers
    ]
    fee_day = transfers[-1].value_date
    lines.append((fee_day, -fee, "FEE", "账户管理费"))
    data = mt940_text(
        account=bank.bank_account_identifier or DEMO_IDENTIFIER,
        currency="CNY",
        statement_id=STATEMENT_ID,
        opening=opening,
        opening_date=start,
        lines=lines,
    )
    result = services.statement_import(
        actor=actor, data=data, filename="demo-boc.sta", format="mt940", account=bank.code
    )
    return [
        f"bank statement {STATEMENT_ID}: {len(lines)} lines, {result.matches} matched, "
        f"{result.breaks} break(s)"
    ]
