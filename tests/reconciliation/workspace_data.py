"""Open items in bulk for workspace tests: a statement of `n` lines and `n` posted transfers on
a bank account, written with bulk_create (reads do not need balances)."""

from __future__ import annotations

import datetime
import uuid

from cpms.ledger.choices import TransferKind
from cpms.ledger.models import Account, Transfer
from cpms.reconciliation.choices import BalanceCheck
from cpms.reconciliation.models import BankStatement, BankStatementLine

START = datetime.date(2025, 1, 1)


def statement(bank: Account, *, name: str = "BULK") -> BankStatement:
    return BankStatement.objects.create(
        account=bank,
        format="mt940",
        statement_id=name,
        currency=bank.asset.code,
        file_sha256=uuid.uuid4().hex,
        balance_check=BalanceCheck.NOT_CHECKABLE,
    )


def lines(
    owner: BankStatement, rows: list[tuple[datetime.date, int, str]], *, counterparty: str = ""
) -> list[BankStatementLine]:
    first = owner.lines.count()
    return BankStatementLine.objects.bulk_create(
        BankStatementLine(
            statement=owner,
            index=first + i,
            booking_date=day,
            amount_minor=amount,
            currency=owner.currency,
            reference=reference,
            description=f"payment {reference}",
            counterparty=counterparty,
        )
        for i, (day, amount, reference) in enumerate(rows)
    )


def transfers(
    bank: Account, other: Account, rows: list[tuple[datetime.date, int, str]]
) -> list[Transfer]:
    """Posted transfers: amount > 0 money in (bank debited), < 0 money out."""
    made = Transfer.objects.bulk_create(
        Transfer(
            idempotency_key=f"bulk:{uuid.uuid4().hex}",
            kind=TransferKind.POSTED,
            debit_account=bank if amount > 0 else other,
            credit_account=other if amount > 0 else bank,
            asset=bank.asset,
            amount=abs(amount),
            reference=reference,
            value_date=day,
        )
        for day, amount, reference in rows
    )
    return made


def many(bank: Account, other: Account, n: int, *, start: datetime.date = START):
    """n lines and n transfers that do not match one another (distinct amounts per side)."""
    owner = statement(bank)
    made_lines = lines(
        owner,
        [(start + datetime.timedelta(days=i % 300), 100_000 + i, f"L-{i:05d}") for i in range(n)],
    )
    made_transfers = transfers(
        bank,
        other,
        [
            (start + datetime.timedelta(days=i % 300), -(500_000 + i), f"T-{i:05d}")
            for i in range(n)
        ],
    )
    return owner, made_lines, made_transfers
