"""Demo property for the demo customers (tags `demo-finance` / `demo-retail`, created by
cpms/customers/demo.py): for every finance customer an account (a card number that passes
Luhn), a portfolio of 3–5 positions priced by a demo price file, a loan with its generated
schedule and a contract; for every retail customer a loyalty membership; organisations also get
a trademark and a personal-data asset. Registered through the services by the customer's own
relationship manager, so every row is audited.

Deterministic (each customer's data comes from the seed and its customer number) and idempotent
(each item has a fixed identifier `DEMO-…-<customer number>`; existing ones are skipped, and the
demo prices are imported once). Does nothing when there are no demo customers."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from typing import Any

from stdnum import luhn

from cpms.access.checks import user_has_permission
from cpms.customers.models import Customer
from cpms.holdings import services
from cpms.holdings.models import MANAGE_PERMISSION, Holding, InstrumentPrice

FINANCE_TAG = "demo-finance"
RETAIL_TAG = "demo-retail"
PRICE_SOURCE = "demo"
PRICED_ON = (datetime.date(2026, 10, 30), datetime.date(2026, 10, 31))
VALUED_ON = datetime.date(2026, 10, 31)
# code, name, asset class, price on the last demo day
INSTRUMENTS = (
    ("600519", "贵州茅台", "equity", Decimal("1480.50")),
    ("601318", "中国平安", "equity", Decimal("52.36")),
    ("000858", "五粮液", "equity", Decimal("128.90")),
    ("510300", "沪深300ETF", "fund", Decimal("3.9870")),
    ("511010", "国债ETF", "bond", Decimal("142.115")),
    ("019666", "22国债01", "bond", Decimal("101.2300")),
    ("518880", "黄金ETF", "commodity", Decimal("6.1230")),
    ("511880", "银华日利", "cash", Decimal("100.0120")),
)
INSTITUTIONS = ("中国工商银行", "中国建设银行", "招商银行", "中国银行", "交通银行")
PROGRAMMES = (("悦享会员", ("普通", "银卡", "金卡", "钻石")), ("星享俱乐部", ("绿星", "金星")))


def _tags(customer: Customer) -> set[str]:
    return {str(tag) for tag in (customer.tags or [])}


def _card_number(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn.calc_check_digit(body)


def _exists(customer: Customer, kind: str, identifier: str) -> bool:
    return Holding.objects.filter(customer=customer, kind=kind, identifier=identifier).exists()


def _prices(actor: Any) -> list[str]:
    if InstrumentPrice.objects.filter(source=PRICE_SOURCE).exists():
        return []
    lines = ["instrument_code,price,currency,priced_on,source"]
    for code, _name, _asset_class, price in INSTRUMENTS:
        earlier = (price * Decimal("0.985")).quantize(Decimal("0.0001"))
        lines.append(f"{code},{earlier},CNY,{PRICED_ON[0].isoformat()},{PRICE_SOURCE}")
        lines.append(f"{code},{price},CNY,{PRICED_ON[1].isoformat()},{PRICE_SOURCE}")
    report = services.prices_import(
        actor=actor, content="\n".join(lines).encode(), source=PRICE_SOURCE, filename="demo.csv"
    )
    return [f"{report.created} instrument prices"]


def _register(customer: Customer, actor: Any, kind: str, identifier: str, **kwargs: Any) -> str:
    services.holding_register(
        actor=actor, customer=customer, kind=kind, identifier=identifier, **kwargs
    )
    return f"{kind} {identifier}"


def _account(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    """A settlement account with a card number that passes Luhn."""
    identifier = f"DEMO-AC-{customer.customer_number}"
    if _exists(customer, "account", identifier):
        return []
    return [
        _register(
            customer,
            actor,
            "account",
            identifier,
            description="结算账户",
            value_minor=rng.randrange(1_000_000, 500_000_000),
            valued_on=VALUED_ON,
            details={
                "account_type": rng.choice(["card", "card", "client_money"]),
                "institution": rng.choice(INSTITUTIONS),
                "number": _card_number(rng),
            },
        )
    ]


def _portfolio(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    """A portfolio of 3–5 of the demo instruments, bought around their demo price."""
    identifier = f"DEMO-PF-{customer.customer_number}"
    if _exists(customer, "portfolio", identifier):
        return []
    chosen = rng.sample(INSTRUMENTS, rng.randint(3, 5))
    positions = []
    for code, name, asset_class, price in chosen:
        quantity = Decimal(rng.randrange(1, 50) * 100)
        cost = int(quantity * price * Decimal(rng.randrange(80, 115)) / 100 * 100)
        positions.append(
            {
                "instrument_code": code,
                "instrument_name": name,
                "asset_class": asset_class,
                "quantity": quantity,
                "cost_minor": cost,
            }
        )
    return [
        _register(
            customer,
            actor,
            "portfolio",
            identifier,
            description="证券投资组合",
            details={"positions": positions},
        )
    ]


def _loan(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    """A mortgage (individuals) or working-capital loan (organisations) with its schedule."""
    identifier = f"DEMO-LN-{customer.customer_number}"
    if _exists(customer, "loan", identifier):
        return []
    principal = rng.randrange(10, 300) * 10_000_00
    return [
        _register(
            customer,
            actor,
            "loan",
            identifier,
            description="个人住房贷款" if customer.kind == "individual" else "流动资金贷款",
            value_minor=principal,
            valued_on=VALUED_ON,
            details={
                "principal_minor": principal,
                "annual_rate_percent": rng.choice(["3.10", "3.45", "3.95", "4.35"]),
                "term_months": rng.choice([12, 36, 60, 120, 240]),
                "method": rng.choice(["equal_instalment", "equal_principal"]),
                "start_date": datetime.date(2026, rng.randint(1, 10), rng.randint(1, 28)),
            },
        )
    ]


def _contract(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    """A three-year wealth-management service agreement."""
    identifier = f"DEMO-HT-{customer.customer_number}"
    if _exists(customer, "contract", identifier):
        return []
    signed = datetime.date(2025, rng.randint(1, 12), rng.randint(1, 28))
    return [
        _register(
            customer,
            actor,
            "contract",
            identifier,
            description="财富管理服务协议",
            details={
                "contract_number": identifier,
                "counterparty": "CPMS 演示财富管理有限公司",
                "signed_on": signed,
                "expires_on": signed.replace(year=signed.year + 3),
            },
        )
    ]


def _finance(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    """Account, portfolio, loan and contract, in that order (the random draws follow it)."""
    created: list[str] = []
    for step in (_account, _portfolio, _loan, _contract):
        created += step(customer, actor, rng)
    return created


def _retail(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    identifier = f"DEMO-MB-{customer.customer_number}"
    if _exists(customer, "membership", identifier):
        return []
    programme, tiers = rng.choice(PROGRAMMES)
    return [
        _register(
            customer,
            actor,
            "membership",
            identifier,
            description=programme,
            details={
                "programme": programme,
                "member_number": f"M{rng.randrange(10**9, 10**10)}",
                "tier": rng.choice(tiers),
                "joined_on": datetime.date(rng.randint(2018, 2026), rng.randint(1, 9), 1),
            },
        )
    ]


def _organisation(customer: Customer, actor: Any, rng: random.Random) -> list[str]:
    number = customer.customer_number
    created: list[str] = []
    identifier = f"DEMO-TM-{number}"
    if not _exists(customer, "intellectual_property", identifier):
        registration = str(rng.randrange(10**7, 10**8))
        created.append(
            _register(
                customer,
                actor,
                "intellectual_property",
                identifier,
                description="注册商标",
                details={
                    "ip_type": "trademark",
                    "registration_number": registration,
                    "jurisdiction": "CN",
                    "expires_on": datetime.date(2030 + rng.randint(0, 9), 6, 30),
                },
            )
        )
    identifier = f"DEMO-DA-{number}"
    if not _exists(customer, "data_asset", identifier):
        created.append(
            _register(
                customer,
                actor,
                "data_asset",
                identifier,
                description="会员个人信息",
                details={
                    "category": "客户联系信息",
                    "system": rng.choice(["CRM", "会员系统", "电商平台"]),
                    "record_count": rng.randrange(1_000, 500_000),
                    "lawful_basis": rng.choice(["consent", "contract"]),
                    "retention_until": datetime.date(2030, 12, 31),
                },
            )
        )
    return created


def load(*, rng: random.Random, options: dict[str, Any]) -> list[str]:
    customers = [
        customer
        for customer in Customer.objects.filter(relationship_manager__isnull=False)
        .select_related("relationship_manager")
        .order_by("pk")
        if _tags(customer) & {FINANCE_TAG, RETAIL_TAG}
    ]
    customers = [
        customer
        for customer in customers
        if customer.relationship_manager.is_active
        and user_has_permission(customer.relationship_manager, MANAGE_PERMISSION)
    ]
    if not customers:
        return []
    base = rng.getrandbits(64)
    created: list[str] = []
    finance = [customer for customer in customers if FINANCE_TAG in _tags(customer)]
    if finance:
        created.extend(_prices(finance[0].relationship_manager))
    for customer in customers:
        own = random.Random(f"{base}:{customer.customer_number}")  # noqa: S311 (demo data)
        actor = customer.relationship_manager
        if FINANCE_TAG in _tags(customer):
            created.extend(_finance(customer, actor, own))
        if RETAIL_TAG in _tags(customer):
            created.extend(_retail(customer, actor, own))
        if customer.kind == "organisation":
            created.extend(_organisation(customer, actor, own))
    return created
