"""Demo trades for the demo portfolios (holdings of kind "portfolio" with identifier
`DEMO-PF-…`, created with their positions by cpms/holdings/demo.py): each position is bought in
two lots around its recorded average cost and partly sold, so the valuation at the demo prices
shows gains and losses and some realised results. Customers' cash accounts are first funded
from the client-money bank account. Booked through `trade_book` by a finance officer whose
scope covers the customer (every trade audited).

Deterministic for the seed (all random draws happen before the existence checks) and idempotent
(trade keys `demo:<property number>:<instrument>:<n>` and the funding key are looked up first).
Trade dates are the 40 days before today, after any closed period."""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q

from cpms.access.actors import actor_for, staff_with
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.money import to_major, to_minor
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Transfer
from cpms.portfolios import services
from cpms.portfolios.models import TRADE_PERMISSION, Trade
from cpms.users.models import User

PREFIX = "DEMO-PF-"
FEE_RATE = Decimal("0.0003")
MIN_FEE_MINOR = 500


def _fee(gross_minor: int) -> int:
    return max(MIN_FEE_MINOR, int(Decimal(gross_minor) * FEE_RATE))


def _price(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _plan(position: Any, rng: random.Random, days: list[int]) -> list[dict[str, Any]]:
    """Two buys around the recorded average cost, then a partial sell."""
    quantity = Decimal(position.quantity).quantize(Decimal("0.0001"))
    if quantity <= 0 or position.cost_minor <= 0:
        return []
    average = to_major(position.cost_minor, position.currency) / quantity
    first = (quantity / 2).to_integral_value(rounding=ROUND_HALF_UP) or quantity
    second = quantity - first
    plan = [("buy", first, _price(average * Decimal(rng.randint(94, 99)) / 100))]
    if second > 0:
        plan.append(("buy", second, _price(average * Decimal(rng.randint(101, 106)) / 100)))
    sell = (quantity * Decimal(rng.choice((0, 10, 20, 30))) / 100).to_integral_value()
    sell_factor = Decimal(rng.randint(90, 115)) / 100
    if sell > 0:
        plan.append(("sell", sell, _price(average * sell_factor)))
    return [
        {"side": side, "quantity": amount, "price": price, "days_ago": day}
        for (side, amount, price), day in zip(plan, days, strict=False)
    ]


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    portfolios = list(
        Holding.objects.filter(
            Q(identifier__startswith=PREFIX),
            kind=HoldingKind.PORTFOLIO,
            status=HoldingStatus.ACTIVE,
        )
        .select_related("customer")
        .order_by("pk")
    )
    if not portfolios:
        return []
    traders = staff_with(TRADE_PERMISSION)
    today = engine.today()
    closed = engine.closed_through()
    # never before last month: the ledger demo closes the books through the end of the month
    # before last after every app's demo, and the plan must not depend on whether it has yet
    earliest = max(
        today - datetime.timedelta(days=40),
        (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1),
    )
    if closed is not None and closed >= earliest:
        earliest = min(closed + datetime.timedelta(days=1), today)
    span = max((today - earliest).days, 0)
    created: list[str] = []
    for holding in portfolios:
        positions = list(holding.positions.order_by("instrument_code", "pk"))
        plans = []
        for position in positions:
            days = sorted(rng.sample(range(span + 1), 3) if span >= 2 else [0, 0, 0], reverse=True)
            plans.append((position, _plan(position, rng, days)))
        trader = actor_for(holding.customer, traders, TRADE_PERMISSION)
        if trader is None:
            continue
        created.extend(_fund(trader, holding, plans, earliest))
        for position, plan in plans:
            for number, step in enumerate(plan, start=1):
                key = f"demo:{holding.holding_number}:{position.instrument_code}:{number}"[:60]
                if Trade.objects.filter(idempotency_key=key).exists():
                    continue
                trade_date = earliest + datetime.timedelta(days=span - step["days_ago"])
                services.trade_book(
                    actor=trader,
                    holding=holding,
                    data={
                        "side": step["side"],
                        "instrument_code": position.instrument_code,
                        "quantity": step["quantity"],
                        "price": step["price"],
                        "currency": position.currency,
                        "fee_minor": _fee(
                            to_minor(step["quantity"] * step["price"], position.currency)
                        ),
                        "trade_date": min(trade_date, today),
                        "settlement_date": min(trade_date + datetime.timedelta(days=1), today),
                        "reference": f"DEMO-{number}",
                        "idempotency_key": key,
                    },
                )
                created.append(f"trade {key}")
    return created


def _fund(trader: User, holding: Holding, plans: list, earliest: datetime.date) -> list[str]:
    """Credit the customer's cash with what the buys need (per currency), once."""
    needed: dict[str, int] = {}
    for position, plan in plans:
        for step in plan:
            if step["side"] == "buy":
                gross = to_minor(step["quantity"] * step["price"], position.currency)
                needed[position.currency] = needed.get(position.currency, 0) + gross + _fee(gross)
    created = []
    for currency, amount in sorted(needed.items()):
        key = f"demo:portfolios:fund:{holding.holding_number}:{currency}"
        if Transfer.objects.filter(idempotency_key=key).exists():
            continue
        customer = holding.customer
        cash = ledger.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code=currency
        )
        bank = ledger.internal_account(asset_code=currency, purpose=AccountPurpose.CLIENT_BANK)
        posted = ledger.post_internal(
            actor=trader,
            specs=[
                ledger.TransferSpec(
                    debit_account=bank,
                    credit_account=cash,
                    amount=amount,
                    reference=f"Funding for {holding.holding_number}",
                    value_date=earliest,
                    idempotency_key=key,
                )
            ],
        )
        transfer = posted.transfers[0]
        audit_record(
            actor=trader,
            action=AuditAction.TRANSFER_POSTED,
            object_type="ledger.transfer",
            object_id=transfer.pk,
            after={
                "id": transfer.pk,
                "debit": bank.code,
                "credit": cash.code,
                "amount_minor": amount,
                "asset": currency,
                "reference": transfer.reference,
                "value_date": transfer.value_date.isoformat(),
                "idempotency_key": key,
            },
            reason="demo funding for portfolio trades",
        )
        created.append(f"funding {key}")
    return created
