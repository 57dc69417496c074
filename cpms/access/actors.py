"""Who acts, when a program (not a person at the console) needs an acting staff member: the demo
loaders post back-dated loans, trades and statements as someone who holds the permission and
whose scope reaches the row, so their audit entries name a real actor."""

from __future__ import annotations

from typing import Any

from cpms.access.checks import user_has_permission
from cpms.access.scopes import in_scope
from cpms.users.models import User


def staff_with(permission: str) -> list[Any]:
    """The active staff who hold `permission`, "finance1" first, then by id: who the demo
    loaders act as."""
    users = list(User.objects.filter(is_active=True, is_staff=True).order_by("pk"))
    users.sort(key=lambda user: (user.username != "finance1", user.pk))
    return [user for user in users if user_has_permission(user, permission)]


def actor_for(row: Any, users: list[Any], permission: str) -> Any:
    """The first of `users` whose `permission` scope reaches `row` (None when nobody's does)."""
    return next((user for user in users if in_scope(row, user=user, permission=permission)), None)
