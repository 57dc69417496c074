"""Portfolio trading in the permission matrix (format: tests/permission_rules.py)."""

from __future__ import annotations

from tests.permission_rules import Rule

VIEW = ("ledger.view",)
TRADE = ("ledger.post",)

CONSOLE = {
    "portfolios:list": Rule(VIEW),
    "portfolios:detail": Rule(VIEW, scoped=True),
    "portfolios:trade": Rule(TRADE, scoped=True),
}

API = {
    ("GET", "/api/v1/portfolios/"): Rule(VIEW),
    ("GET", "/api/v1/portfolios/{portfolio_id}"): Rule(VIEW, scoped=True),
    ("GET", "/api/v1/portfolios/{portfolio_id}/trades"): Rule(VIEW, scoped=True),
    ("POST", "/api/v1/portfolios/{portfolio_id}/trades"): Rule(TRADE, "POST", scoped=True),
}

WRITE_BODIES = {
    "/api/v1/portfolios/{portfolio_id}/trades": {
        "side": "buy",
        "instrument_code": "600519",
        "quantity": "1",
        "price": "10.00",
        "trade_date": "2026-01-05",
        "idempotency_key": "matrix-buy",
    },
}

PLACEHOLDERS = {"{portfolio_id}": lambda world: str(world["portfolio"].pk)}


def build(world: dict) -> None:
    import datetime

    from django.db import transaction

    from cpms.holdings.services import holding_register
    from cpms.ledger import services as ledger
    from cpms.ledger.choices import AccountPurpose
    from cpms.portfolios.services import trade_book
    from cpms.users.choices import Role

    customer = world["customer"]
    world["portfolio"] = holding_register(
        actor=world["users"][Role.RELATIONSHIP_MANAGER],
        customer=customer,
        kind="portfolio",
        identifier="MATRIX-PF-TRADING",
        details={"positions": []},
    )
    with transaction.atomic():
        cash = ledger.customer_account(
            customer=customer, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )
        bank = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
        ledger.post_internal(
            actor=None,
            specs=[ledger.TransferSpec(debit_account=bank, credit_account=cash, amount=100_000)],
        )
    trade_book(
        actor=world["users"][Role.FINANCE_OFFICER],
        holding=world["portfolio"],
        data={
            "side": "buy",
            "instrument_code": "600519",
            "quantity": "2",
            "price": "10",
            "trade_date": datetime.date(2026, 1, 5),
        },
    )


def console_kwargs(name: str, world: dict) -> dict | None:
    if name in ("portfolios:detail", "portfolios:trade"):
        return {"pk": world["portfolio"].pk}
    return None


def state(world: dict) -> tuple:
    from cpms.ledger.models import Transfer
    from cpms.portfolios.models import Trade

    return (Trade.objects.count(), Transfer.objects.count())
