"""Permission matrix declarations of the property register (see tests/permission_rules.py)."""

from __future__ import annotations

import datetime

from tests.permission_rules import Probe, Rule

VIEW = ("holdings.view",)
MANAGE = ("holdings.manage",)
BASE = "/api/v1/holdings"

CONSOLE = {
    "holdings:list": Rule(VIEW),
    "holdings:create": Rule(MANAGE),
    "holdings:prices-import": Rule(MANAGE),
    "holdings:detail": Rule(VIEW, scoped=True),
    "holdings:edit": Rule(MANAGE, scoped=True),
    "holdings:revalue": Rule(MANAGE, "POST", scoped=True),
    "holdings:status": Rule(MANAGE, "POST", scoped=True),
    "holdings:position-add": Rule(MANAGE, "POST", scoped=True),
    "holdings:position-remove": Rule(MANAGE, "POST", scoped=True),
}

API = {
    ("GET", f"{BASE}/"): Rule(VIEW),
    ("POST", f"{BASE}/"): Rule(MANAGE, "POST"),
    ("POST", f"{BASE}/prices/import"): Rule(MANAGE, "POST"),
    ("GET", f"{BASE}/{{holding_id}}"): Rule(VIEW, scoped=True),
    ("PATCH", f"{BASE}/{{holding_id}}"): Rule(MANAGE, "PATCH", scoped=True),
    ("POST", f"{BASE}/{{holding_id}}/status"): Rule(MANAGE, "POST", scoped=True),
    ("GET", f"{BASE}/{{holding_id}}/valuations"): Rule(VIEW, scoped=True),
    ("POST", f"{BASE}/{{holding_id}}/valuations"): Rule(MANAGE, "POST", scoped=True),
    ("GET", f"{BASE}/{{holding_id}}/positions"): Rule(VIEW, scoped=True),
    ("POST", f"{BASE}/{{holding_id}}/positions"): Rule(MANAGE, "POST", scoped=True),
    ("PATCH", f"{BASE}/{{holding_id}}/positions/{{position_id}}"): Rule(
        MANAGE, "PATCH", scoped=True
    ),
    ("DELETE", f"{BASE}/{{holding_id}}/positions/{{position_id}}"): Rule(
        MANAGE, "DELETE", scoped=True
    ),
    ("GET", f"{BASE}/{{holding_id}}/schedule"): Rule(VIEW, scoped=True),
}

WRITE_BODIES = {
    f"{BASE}/": {"customer_id": 1, "kind": "contract", "identifier": "MATRIX-2"},
    f"{BASE}/{{holding_id}}": {"description": "matrix"},
    f"{BASE}/{{holding_id}}/status": {"status": "suspended", "reason": "matrix"},
    f"{BASE}/{{holding_id}}/valuations": {
        "value_minor": 100,
        "currency": "CNY",
        "valued_on": "2026-01-01",
    },
    f"{BASE}/{{holding_id}}/positions": {
        "instrument_code": "MATRIX",
        "asset_class": "equity",
        "quantity": "1",
        "cost_minor": 1,
    },
    f"{BASE}/{{holding_id}}/positions/{{position_id}}": {"quantity": "2"},
}

PLACEHOLDERS = {
    "{holding_id}": lambda world: str(world["holding"].pk),
    "{position_id}": lambda world: str(world["position"].pk),
}


def build(world: dict) -> None:
    from cpms.holdings.services import holding_register
    from cpms.users.choices import Role

    manager = world["users"][Role.RELATIONSHIP_MANAGER]
    world["holding"] = holding_register(
        actor=manager,
        customer=world["customer"],
        kind="loan",
        identifier="MATRIX-LOAN",
        details={
            "principal_minor": 100_000,
            "annual_rate_percent": "4.35",
            "term_months": 12,
            "method": "equal_instalment",
            "start_date": datetime.date(2026, 1, 15),
        },
    )
    world["portfolio"] = holding_register(
        actor=manager,
        customer=world["customer"],
        kind="portfolio",
        identifier="MATRIX-PF",
        details={
            "positions": [
                {
                    "instrument_code": "600519",
                    "asset_class": "equity",
                    "quantity": "1",
                    "cost_minor": 100,
                }
            ]
        },
    )
    world["position"] = world["portfolio"].positions.get()


def console_kwargs(name: str, world: dict) -> dict | None:
    if not name.startswith("holdings:"):
        return None
    if name == "holdings:position-remove":
        return {"pk": world["portfolio"].pk, "position_id": world["position"].pk}
    if name == "holdings:position-add":
        return {"pk": world["portfolio"].pk}
    if name in ("holdings:list", "holdings:create", "holdings:prices-import"):
        return {}
    return {"pk": world["holding"].pk}


def state(world: dict) -> tuple:
    from cpms.holdings.models import (
        Holding,
        HoldingValuation,
        InstrumentPrice,
        LoanInstalment,
        PortfolioPosition,
    )

    holding = Holding.objects.get(pk=world["holding"].pk)
    return (
        Holding.objects.count(),
        HoldingValuation.objects.count(),
        PortfolioPosition.objects.count(),
        tuple(PortfolioPosition.objects.values_list("quantity", flat=True).order_by("pk")),
        InstrumentPrice.objects.count(),
        LoanInstalment.objects.count(),
        (holding.status, holding.description, holding.value_minor),
    )


# a new property item for the world's customer (out of the far branch's scope)
PROBES = [
    Probe(
        ("POST", f"{BASE}/"),
        lambda world: world["customer"].pk,
        lambda world, ref: {"customer_id": ref, "kind": "contract", "identifier": "PROBE-1"},
    )
]
