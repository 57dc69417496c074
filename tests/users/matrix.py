"""Permission-matrix declarations of staff administration (see tests/permission_rules.py).
Allowed writes need a re-authentication and are exercised in tests/users/test_administration*.py."""

from __future__ import annotations

from tests.permission_rules import Rule

READ = ("users.manage", "users.view")
MANAGE = ("users.manage",)

CONSOLE = {
    "staff:list": Rule(READ),
    "staff:detail": Rule(READ),
    "staff:create": Rule(MANAGE),
    "staff:action": Rule(MANAGE, "POST"),
}


def console_kwargs(name: str, world: dict) -> dict | None:
    if name == "staff:detail":
        return {"pk": world["target"].pk}
    if name == "staff:action":
        return {"pk": world["target"].pk, "action": "deactivate"}
    return None
