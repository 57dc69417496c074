"""A realistic demo ledger for the demo finance customers (tag `demo-finance`): a money account
linked to each customer's demo settlement account (property item `DEMO-AC-<number>`), deposits
from the client-money bank account over the last three months, monthly fees, withdrawals, one
reversal, one plain hold, one deposit above the approval threshold awaiting approval, and the
books closed through the end of the month before last.

Everything is posted through the services as a finance officer (the demo `finance1` first)
whose scope covers the customer; customers outside every finance officer's scope are left out.
Deterministic for the seed and idempotent: every random draw happens before the existence
checks, and every transfer has a key derived from the customer number (a second run finds them
and creates nothing). Does nothing without demo finance customers or a finance officer."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cpms.access.actors import actor_for, staff_with
from cpms.access.checks import user_has_permission
from cpms.customers.models import Customer
from cpms.holdings.models import Holding
from cpms.ledger import engine, services
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import CLOSE_PERMISSION, POST_PERMISSION, Account, PeriodClose, Transfer

TAG = "demo-finance"
ASSET = "CNY"
# above the default `ledger.transfer` approval threshold (50,000.00 CNY); everything else stays
# below it so only this one waits for approval
LARGE_DEPOSIT = 8_000_000
MAX_CUSTOMERS = 24
FEE_NAMES = ("账户管理费", "托管服务费", "转账手续费")


def _customers() -> list[Customer]:
    candidates = Customer.objects.filter(tags__icontains=TAG).order_by("pk")
    return [customer for customer in candidates if TAG in (customer.tags or [])]


def _month_before_last_end(today: datetime.date) -> datetime.date:
    last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
    return last_month_end.replace(day=1) - datetime.timedelta(days=1)


def _plan(rng: random.Random, today: datetime.date) -> list[dict[str, Any]]:
    """The customer's movements, oldest first: (kind, days ago, amount, label)."""
    moves: list[dict[str, Any]] = []
    opening = rng.randrange(10_000, 49_000) * 100
    moves.append({"kind": "deposit", "days": rng.randint(80, 90), "amount": opening})
    for _ in range(rng.randint(1, 3)):
        amount = rng.randrange(1_000, 30_000) * 100
        moves.append({"kind": "deposit", "days": rng.randint(5, 79), "amount": amount})
    for month in range(3):
        fee = rng.choice((1_000, 2_500, 5_000, 8_800))
        moves.append({"kind": "fee", "days": 1 + month * 30 + rng.randint(0, 5), "amount": fee})
    for _ in range(rng.randint(1, 2)):
        share = rng.randint(5, 25)
        moves.append(
            {"kind": "withdrawal", "days": rng.randint(1, 75), "amount": opening * share // 100}
        )
    for index, move in enumerate(moves):
        move["label"] = rng.choice(FEE_NAMES) if move["kind"] == "fee" else ""
        move["index"] = index
    moves.sort(key=lambda move: (-move["days"], move["index"]))
    return moves


def _open_cash(actor: Any, customer: Customer) -> tuple[Account, list[str]]:
    holding = Holding.objects.filter(
        customer=customer, kind="account", identifier=f"DEMO-AC-{customer.customer_number}"
    ).first()
    code = f"C{customer.pk}:{AccountPurpose.CUSTOMER_CASH.upper()}:{ASSET}" + (
        f":H{holding.pk}" if holding is not None else ""
    )
    existing = Account.objects.select_related("asset").filter(code=code[:64]).first()
    if existing is not None:
        return existing, []
    account = services.account_open(
        actor=actor,
        purpose=AccountPurpose.CUSTOMER_CASH,
        asset=ASSET,
        customer_id=customer.pk,
        holding_id=holding.pk if holding is not None else None,
        name=f"{customer.customer_number} 客户资金",
    )
    return account, [f"ledger account {account.code}"]


def _internal(actor: Any) -> dict[str, Account]:
    with transaction.atomic():
        return {
            purpose: services.internal_account(asset_code=ASSET, purpose=purpose, actor=actor)
            for purpose in (AccountPurpose.CLIENT_BANK, AccountPurpose.FEES)
        }


def _post(actor: Any, key: str, data: dict[str, Any], reason: str = "") -> Transfer | None:
    """Post unless the key exists; None when it exists already or its date is closed."""
    if Transfer.objects.filter(idempotency_key=key).exists():
        return None
    closed = engine.closed_through()
    if closed is not None and data["value_date"] <= closed:
        return None
    return services.transfer_post(
        actor=actor, data={**data, "idempotency_key": key}, reason=reason
    ).transfer


def _customer_moves(
    actor: Any,
    customer: Customer,
    cash: Account,
    internal: dict[str, Account],
    moves: list[dict[str, Any]],
    today: datetime.date,
) -> tuple[list[str], list[Transfer]]:
    bank, fees = internal[AccountPurpose.CLIENT_BANK], internal[AccountPurpose.FEES]
    created: list[str] = []
    fee_rows: list[Transfer] = []
    number = customer.customer_number
    for move in moves:
        key = f"demo:ledger:{number}:{move['index']}"
        value_date = today - datetime.timedelta(days=move["days"])
        if move["kind"] == "deposit":
            debit, credit, reference = bank, cash, f"入金 {number}"
        elif move["kind"] == "fee":
            debit, credit, reference = cash, fees, f"{move['label']} {number}"
        else:
            debit, credit, reference = cash, bank, f"出金 {number}"
        posted = _post(
            actor,
            key,
            {
                "debit_account": debit.code,
                "credit_account": credit.code,
                "amount_minor": move["amount"],
                "reference": reference,
                "value_date": value_date,
                "metadata": {"demo": True, "kind": move["kind"]},
            },
        )
        if posted is not None:
            created.append(f"transfer {key}")
        if move["kind"] == "fee":
            stored = Transfer.objects.filter(idempotency_key=key).first()
            if stored is not None:
                fee_rows.append(stored)
    return created, fee_rows


def _extras(
    actor: Any,
    customer: Customer,
    cash: Account,
    internal: dict[str, Account],
    fee_rows: list[Transfer],
    today: datetime.date,
    hold_amount: int,
) -> list[str]:
    """One reversal, one plain hold and one deposit awaiting approval (first customer only)."""
    created: list[str] = []
    number = customer.customer_number
    bank = internal[AccountPurpose.CLIENT_BANK]
    closed = engine.closed_through()
    if fee_rows:
        fee = fee_rows[-1]
        if not Transfer.objects.filter(reverses=fee).exists() and (
            closed is None or fee.value_date > closed
        ):
            services.transfer_reverse(
                actor=actor,
                transfer_id=fee.pk,
                reason="重复收费，退回客户",
                idempotency_key=f"demo:ledger:{number}:reverse",
            )
            created.append(f"reversal of transfer {fee.pk}")
    held = _post(
        actor,
        f"demo:ledger:{number}:hold",
        {
            "debit_account": cash.code,
            "credit_account": bank.code,
            "amount_minor": hold_amount,
            "reference": f"出金冻结 {number}",
            "value_date": today,
            "pending": True,
            "expires_at": timezone.now() + datetime.timedelta(days=7),
        },
    )
    if held is not None:
        created.append(f"hold {held.pk}")
    large = _post(
        actor,
        f"demo:ledger:{number}:large",
        {
            "debit_account": bank.code,
            "credit_account": cash.code,
            "amount_minor": LARGE_DEPOSIT,
            "reference": f"大额入金 {number}",
            "value_date": today,
        },
        reason="大额入金，需复核",
    )
    if large is not None:
        created.append(f"transfer {large.pk} awaiting approval")
    return created


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    today = timezone.localdate()
    base = rng.getrandbits(64)
    hold_amount = rng.randrange(1_000, 5_000) * 100
    customers = _customers()[:MAX_CUSTOMERS]
    users = staff_with(POST_PERMISSION)
    if not customers or not users:
        return []
    plans = {
        customer.pk: _plan(random.Random(f"{base}:{customer.customer_number}"), today)  # noqa: S311
        for customer in customers
    }
    created: list[str] = []
    first = True
    for customer in customers:
        actor = actor_for(customer, users, POST_PERMISSION)
        if actor is None:
            continue
        internal = _internal(actor)
        cash, opened = _open_cash(actor, customer)
        created.extend(opened)
        moves, fee_rows = _customer_moves(
            actor, customer, cash, internal, plans[customer.pk], today
        )
        created.extend(moves)
        if first:
            created.extend(_extras(actor, customer, cash, internal, fee_rows, today, hold_amount))
            first = False
    return created


def finish(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    """After every app's demo (loans and trades are back-dated): close the books through the
    end of the month before last."""
    users = staff_with(POST_PERMISSION)
    if not users:
        return []
    return _close(users, timezone.localdate())


def _close(users: list[Any], today: datetime.date) -> list[str]:
    through = _month_before_last_end(today)
    if PeriodClose.objects.filter(Q(through__gte=through)).exists():
        return []
    closers = [user for user in users if user_has_permission(user, CLOSE_PERMISSION)]
    if not closers:
        return []
    services.period_close(actor=closers[0], through=through, reason="演示：月末结账")
    return [f"period closed through {through.isoformat()}"]
