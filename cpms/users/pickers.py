"""The staff picker: active people (never service accounts) by display name or user name,
within the user's `users.view` scope, or their own branch without that permission."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from cpms.core import authz
from cpms.core.pickers import LIMIT, Option
from cpms.users.models import User


def staff_queryset(*, user: Any) -> Any:
    people = User.objects.filter(is_active=True, is_staff=True, is_service_account=False)
    if authz.user_has_permission(user, "users.view"):
        return authz.scoped(people, user=user, permission="users.view")
    return people.filter(branch_id=user.branch_id) if user.branch_id else people.filter(pk=user.pk)


def staff_options(people: Any, q: str) -> list[Option]:
    """Options for the people of `people` (a scoped queryset) whose name matches `q`: the one
    way staff are offered, whichever picker scopes them."""
    if not q:
        return []
    people = people.filter(Q(display_name__icontains=q) | Q(username__icontains=q))
    return [
        Option(
            value=str(person.pk),
            label=person.display_name or person.username,
            detail=" · ".join(p for p in (person.username, str(person.branch or "")) if p),
        )
        for person in people.select_related("branch").order_by("display_name", "username")[:LIMIT]
    ]


def search_staff(*, user: Any, q: str, extra: Mapping[str, str]) -> Iterable[Option]:
    return staff_options(staff_queryset(user=user), q)
