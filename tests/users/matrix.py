"""Permission-matrix declarations of staff administration (see tests/permission_rules.py).
Allowed writes need a re-authentication and are exercised in tests/users/test_administration*.py."""

from __future__ import annotations

from tests.permission_rules import Rule

READ = ("users.manage", "users.view")
MANAGE = ("users.manage",)

CONSOLE = {
    "users:staff-list": Rule(READ),
    "users:staff-detail": Rule(READ),
    "users:staff-create": Rule(MANAGE),
    "users:staff-action": Rule(MANAGE, "POST"),
}


def console_kwargs(name: str, world: dict) -> dict | None:
    if name == "users:staff-detail":
        return {"pk": world["target"].pk}
    if name == "users:staff-action":
        return {"pk": world["target"].pk, "action": "deactivate"}
    return None
