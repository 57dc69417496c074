"""Reads of the access layer. Each takes the acting user first and applies its permission."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from cpms.access.checks import require_permission, user_has_permission
from cpms.access.models import Grant, PermissionConflict, Role
from cpms.access.scopes import get_for_user, scoped
from cpms.core.errors import NotFound
from cpms.core.permissions import PERMISSIONS, Permission
from cpms.users.models import Branch, TotpDevice, User


def permission_list(*, user: Any) -> tuple[Permission, ...]:
    return PERMISSIONS


def role_list(*, user: Any) -> QuerySet[Role]:
    if not _manages_roles(user):
        require_permission(user, "users.view")
    return Role.objects.prefetch_related("permissions").annotate(
        holders=Count("grants", filter=Q(grants__revoked_at__isnull=True), distinct=True)
    )


def _manages_roles(user: Any) -> bool:
    from cpms.access.checks import user_has_permission

    return user_has_permission(user, "roles.manage")


def role_get(*, user: Any, code: str) -> Role:
    role = role_list(user=user).filter(code=code).first()
    if role is None:
        raise NotFound()
    return role


def grant_list(*, user: Any, subject: User | None = None, active: bool = True) -> QuerySet[Grant]:
    """Grants of the staff the acting user can see (users.view scope) or manage."""
    grants = Grant.objects.select_related("user", "role", "branch", "granted_by")
    if not _manages_roles(user):
        require_permission(user, "users.view")
        visible = scoped(User.objects.all(), user=user, permission="users.view")
        grants = grants.filter(user__in=visible)
    if subject is not None:
        grants = grants.filter(user=subject)
    if active:
        grants = grants.filter(revoked_at__isnull=True)
    return grants


def staff_get_for_user(*, user: Any, pk: Any) -> User:
    """A staff member inside the actor's users.view scope, or 404."""
    permission = "users.view"
    if _manages_roles(user):
        return get_for_user(User.objects.all(), user=user, pk=pk, permission="roles.manage")
    return get_for_user(User.objects.all(), user=user, pk=pk, permission=permission)


def staff_list(*, user: Any) -> QuerySet[User]:
    active = Prefetch(
        "grants",
        queryset=Grant.objects.filter(revoked_at__isnull=True).select_related("role", "branch"),
        to_attr="active_grants",
    )
    base = User.objects.filter(is_staff=True).select_related("branch").prefetch_related(active)
    if _manages_roles(user):
        return scoped(base, user=user, permission="roles.manage")
    return scoped(base, user=user, permission="users.view")


def conflict_list(*, user: Any) -> QuerySet[PermissionConflict]:
    if not _manages_roles(user):
        require_permission(user, "users.view")
    return PermissionConflict.objects.order_by("first", "second")


def conflict_violations(*, user: Any) -> list[tuple[User, str, str]]:
    """Users who hold both sides of a declared conflict (e.g. declared after the grants)."""
    violations = []
    pairs = list(PermissionConflict.objects.values_list("first", "second"))
    if not pairs:
        return violations
    holders = (
        Grant.objects.filter(revoked_at__isnull=True, role__is_active=True)
        .values_list("user_id", "role__permissions__code")
        .order_by()
    )
    held: dict[int, set[str]] = {}
    for user_id, code in holders:
        held.setdefault(user_id, set()).add(code)
    users = User.objects.in_bulk(list(held))
    for user_id, codes in sorted(held.items()):
        for first, second in pairs:
            if first in codes and second in codes:
                violations.append((users[user_id], first, second))
    return violations


def staff_get_by_username(*, user: Any, username: str) -> User:
    """A user the actor may manage grants for, by user name; 404 when missing or out of scope."""

    row = scoped(User.objects.all(), user=user, permission="roles.manage").filter(username=username)
    found = row.first()
    if found is None:
        raise NotFound(fields={"user": username})
    return found


def staff_directory(
    *,
    user: User,
    q: str = "",
    branch: Branch | None = None,
    role: str = "",
    active: bool | None = None,
) -> QuerySet[User]:
    """Staff (people, not service accounts) the actor reaches with `users.manage` or
    `users.view`, searched by name or user name and filtered by branch, role and state; with
    each one's active grants (`active_grants`) and two-factor state (`mfa_enrolled`)."""
    permission = "users.manage" if user_has_permission(user, "users.manage") else "users.view"
    staff = scoped(
        User.objects.filter(is_staff=True, is_service_account=False),
        user=user,
        permission=permission,
    )
    if q:
        staff = staff.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    if branch is not None:
        staff = staff.filter(branch=branch)
    if role:
        staff = staff.filter(
            Exists(
                Grant.objects.filter(user=OuterRef("pk"), role__code=role, revoked_at__isnull=True)
            )
        )
    if active is not None:
        staff = staff.filter(is_active=active)
    grants = Prefetch(
        "grants",
        queryset=Grant.objects.filter(revoked_at__isnull=True).select_related("role", "branch"),
        to_attr="active_grants",
    )
    enrolled = TotpDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False)
    return (
        staff.select_related("branch")
        .prefetch_related(grants)
        .annotate(mfa_enrolled=Exists(enrolled))
        .order_by("username", "pk")
    )


def staff_member(*, user: User, pk: int) -> User | None:
    """One staff member of `staff_directory`, or None (missing and out of scope alike)."""
    return staff_directory(user=user).filter(pk=pk).first()
