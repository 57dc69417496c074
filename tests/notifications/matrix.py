"""Permission-matrix declarations of notifications (console /notifications/, API
/api/v1/notifications/)."""

from __future__ import annotations

from tests.permission_rules import AUTH, STAFF, Rule

CONSOLE = {
    "notifications:list": Rule(AUTH),
    "notifications:read": Rule(AUTH, "POST", skip="own notifications only: tests/notifications"),
}
API = {
    ("GET", "/api/v1/notifications/"): Rule(AUTH),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Rule(
        STAFF, "POST", skip="own notifications only: tests/notifications"
    ),
}


def console_kwargs(name: str, world: dict) -> dict | None:
    if name == "notifications:read":
        return {"pk": 1}
    return None
