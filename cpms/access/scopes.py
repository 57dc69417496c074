"""Row-level scope: which rows of a model a user may touch with a permission.

Each model that is scoped registers how its rows relate to a branch, an assigned staff member
and a portal user. `scoped()` turns the user's grants into one filter; `get_for_user()` answers
a row outside scope exactly like a missing one (404), so scope never leaks existence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from cpms.access.checks import permission_scopes
from cpms.access.choices import Scope
from cpms.core.errors import NotFound
from cpms.core.refusals import mark

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ScopeRule:
    branch: str | None = None  # lookup to the row's branch id, e.g. "branch_id"
    assigned: str | None = None  # lookup to the assigned staff user's id
    self: str | None = None  # lookup to the portal user's id


_RULES: dict[str, ScopeRule] = {}


def register(
    model: type[Model],
    *,
    branch: str | None = None,
    assigned: str | None = None,
    self: str | None = None,
) -> None:
    _RULES[model._meta.label_lower] = ScopeRule(branch=branch, assigned=assigned, self=self)


def rule_for(model: type[Model]) -> ScopeRule:
    try:
        return _RULES[model._meta.label_lower]
    except KeyError:
        raise LookupError(
            f"{model._meta.label} has no scope rule: call access.scopes.register()"
        ) from None


def scope_filter(user: Any, permission: str, model: type[Model]) -> Q | None:
    """A Q selecting the rows reachable with `permission`, or None when nothing is."""
    rule = rule_for(model)
    condition: Q | None = None

    def add(part: Q) -> None:
        nonlocal condition
        condition = part if condition is None else condition | part

    branches: set[int] = set()
    for scope, branch_id in permission_scopes(user, permission):
        if scope == Scope.ALL:
            return Q()
        if scope == Scope.BRANCH and rule.branch and branch_id is not None:
            branches.add(branch_id)
        elif scope == Scope.ASSIGNED and rule.assigned:
            add(Q(**{rule.assigned: user.pk}))
        elif scope == Scope.SELF and rule.self:
            add(Q(**{rule.self: user.pk}))
    if branches and rule.branch:
        add(Q(**{f"{rule.branch}__in": sorted(branches)}))
    return condition


def scoped(queryset: QuerySet[M], *, user: Any, permission: str) -> QuerySet[M]:
    condition = scope_filter(user, permission, queryset.model)
    if condition is None:
        return queryset.none()
    return queryset.filter(condition)


def get_for_user(queryset: QuerySet[M], *, user: Any, pk: Any, permission: str) -> M:
    """The row with `pk` if the user reaches it with `permission`; NotFound otherwise (also when
    it exists but is out of scope)."""
    row = scoped(queryset, user=user, permission=permission).filter(pk=pk).first()
    if row is None:
        error = NotFound()
        if queryset.model._default_manager.filter(pk=pk).exists():
            # outside scope: answered like a missing row, recorded as a refusal (access.refusals)

            mark(
                error,
                permission=permission,
                scope="out_of_scope",
                object_type=queryset.model._meta.label_lower,
                object_id=pk,
            )
        raise error
    return row


def in_scope(row: Model, *, user: Any, permission: str) -> bool:
    """Re-check after a write that the row is still inside the actor's scope."""
    return (
        scoped(type(row)._default_manager.all(), user=user, permission=permission)
        .filter(pk=row.pk)
        .exists()
    )
