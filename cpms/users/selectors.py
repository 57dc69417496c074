"""Reads for users, branches, roles and tokens."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import QuerySet

from cpms.users.choices import Role
from cpms.users.models import ApiToken, Branch, User


def branch_list(*, user: User) -> QuerySet[Branch]:
    return Branch.objects.all()


def branch_get(*, user: User, pk: int) -> Branch | None:
    return branch_list(user=user).filter(pk=pk).first()


def role_list(*, user: User) -> QuerySet[Group]:
    return Group.objects.filter(name__in=Role.values)


def staff_list(*, user: User) -> QuerySet[User]:
    return (
        User.objects.filter(is_staff=True)
        .select_related("branch")
        .prefetch_related("groups")
        .order_by("username")
    )


def token_list(*, user: User | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    return tokens if user is None else tokens.filter(user=user)


def role_labels(user: User) -> list[str]:
    labels = dict(Role.choices)
    return [str(labels[group.name]) for group in user.groups.all() if group.name in labels]
