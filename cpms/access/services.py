"""Writes of the access layer: roles, grants, permission conflicts. Every function checks the
actor's permission itself (actor None = the operating system account running a CLI command),
writes in one transaction and records the audit entry there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access import checks
from cpms.access.choices import Scope
from cpms.access.errors import SegregationOfDutiesConflict, SelfGrantRefused
from cpms.access.models import Grant, PermissionConflict, Role, RolePermission
from cpms.approvals.services import approval_submit
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.core.permissions import BY_CODE, DEFAULT_ROLE_SCOPES
from cpms.users.models import Branch, User


def _authorise(actor: User | None, code: str) -> None:
    if actor is not None:
        checks.require_permission(actor, code)


def _validate_permissions(codes: Iterable[str]) -> list[str]:
    codes = sorted(set(codes))
    unknown = [code for code in codes if code not in BY_CODE]
    if unknown:
        raise ValidationFailed(
            fields={
                "permissions": _("Unknown permission: %(codes)s") % {"codes": ", ".join(unknown)}
            }
        )
    return codes


def conflicts_in(codes: Iterable[str]) -> list[tuple[str, str]]:
    held = set(codes)
    pairs = PermissionConflict.objects.values_list("first", "second")
    return sorted((first, second) for first, second in pairs if first in held and second in held)


def _duty(code: str, sources: dict[str, list[str]] | None) -> str:
    """A permission as a person reads it: its translated name, and the roles bringing it."""
    from cpms.access.labels import permission_label

    name = permission_label(code)
    roles = (sources or {}).get(code) or []
    if roles:
        return _("%(permission)s (from %(roles)s)") % {
            "permission": name,
            "roles": ", ".join(sorted(set(roles))),
        }
    return name


def _raise_conflict(
    pairs: list[tuple[str, str]], who: str, sources: dict[str, list[str]] | None = None
) -> None:
    """Refuse with a message naming both duties of each conflicting pair (translated names and
    the roles they come from) and the rule (the two codes, as declared)."""
    message = " ".join(
        _(
            "Refused: %(who)s cannot hold both “%(first)s” and “%(second)s”: "
            "separation of duties rule %(rule)s."
        )
        % {
            "who": who,
            "first": _duty(first, sources),
            "second": _duty(second, sources),
            "rule": f"{first} + {second}",
        }
        for first, second in pairs
    )
    raise SegregationOfDutiesConflict(message, fields={"permissions": message})


def _permission_sources(user: User, extra: Role | None = None) -> dict[str, list[str]]:
    """Permission code -> names of the user's active roles (and `extra`) that carry it."""
    sources: dict[str, list[str]] = {}
    roles = Role.objects.filter(
        grants__user=user, grants__revoked_at__isnull=True, is_active=True
    ).distinct()
    for role in [*roles.prefetch_related("permissions"), *([extra] if extra else [])]:
        for code in role.permissions.values_list("code", flat=True):
            sources.setdefault(code, []).append(str(role.display_name))
    return sources


def _role_snapshot(role: Role) -> dict[str, Any]:
    return {
        "code": role.code,
        "name": role.name,
        "description": role.description,
        "is_active": role.is_active,
        "permissions": sorted(role.permissions.values_list("code", flat=True)),
    }


def role_create(
    *, actor: User | None, code: str, name: str, permissions: Iterable[str], description: str = ""
) -> Role:
    _authorise(actor, "roles.manage")
    codes = _validate_permissions(permissions)
    code = code.strip()
    errors = {}
    if not code:
        errors["code"] = _("A role code is required.")
    elif Role.objects.filter(code=code).exists():
        errors["code"] = _("A role with this code exists already.")
    if not name.strip():
        errors["name"] = _("A role name is required.")
    if errors:
        raise ValidationFailed(fields=errors)
    pairs = conflicts_in(codes)
    if pairs:
        _raise_conflict(pairs, _("this role"))
    with transaction.atomic():
        role = Role.objects.create(code=code, name=name.strip(), description=description)
        RolePermission.objects.bulk_create(RolePermission(role=role, code=c) for c in codes)
        audit_record(
            actor=actor,
            action=AuditAction.ROLE_CREATED,
            object_type="role",
            object_id=role.pk,
            after=_role_snapshot(role),
        )
    return role


def role_update(
    *,
    actor: User | None,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    permissions: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> Role:
    _authorise(actor, "roles.manage")
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        before = _role_snapshot(role)
        if permissions is not None:
            codes = _validate_permissions(permissions)
            pairs = conflicts_in(codes)
            if pairs:
                _raise_conflict(pairs, _("this role"))
            holders = User.objects.filter(
                grants__role=role, grants__revoked_at__isnull=True
            ).distinct()
            for holder in holders.order_by("pk"):
                other = set(
                    RolePermission.objects.filter(
                        role__grants__user=holder,
                        role__grants__revoked_at__isnull=True,
                        role__is_active=True,
                    )
                    .exclude(role=role)
                    .values_list("code", flat=True)
                )
                pairs = conflicts_in(other | set(codes))
                if pairs:
                    _raise_conflict(pairs, holder.username)
            RolePermission.objects.filter(role=role).exclude(code__in=codes).delete()
            existing = set(RolePermission.objects.filter(role=role).values_list("code", flat=True))
            RolePermission.objects.bulk_create(
                RolePermission(role=role, code=c) for c in codes if c not in existing
            )
        if name is not None:
            if not name.strip():
                raise ValidationFailed(fields={"name": _("A role name is required.")})
            role.name = name.strip()
        if description is not None:
            role.description = description
        if is_active is not None:
            role.is_active = is_active
        role.updated_at = timezone.now()
        role.save()
        after = _role_snapshot(role)
        if after != before:
            audit_record(
                actor=actor,
                action=AuditAction.ROLE_UPDATED,
                object_type="role",
                object_id=role.pk,
                before=before,
                after=after,
            )
    return role


def _sync_groups(user: User) -> None:
    """Mirror active grants as Django groups named by role code (used for display and for the
    privileged-role checks of sign-in)."""
    codes = set(
        Grant.objects.filter(user=user, revoked_at__isnull=True, role__is_active=True).values_list(
            "role__code", flat=True
        )
    )
    groups = [Group.objects.get_or_create(name=code)[0] for code in sorted(codes)]
    user.groups.set(groups)
    checks.forget(user)


def _grant_snapshot(grant: Grant) -> dict[str, Any]:
    return {
        "user": grant.user.username,
        "role": grant.role.code,
        "scope": grant.scope,
        "branch": grant.branch.code if grant.branch_id else None,
    }


ROLE_GRANT_ACTION = "access.role_grant"


def _grant_target(
    *, actor: User | None, user: User, role: Role, scope: str | None, branch: Branch | None
) -> tuple[str, Branch | None]:
    """Validate a grant before it is requested or made; return the effective scope and branch."""
    _authorise(actor, "roles.manage")
    if actor is not None and actor.pk == user.pk:
        raise SelfGrantRefused()
    scope = scope or DEFAULT_ROLE_SCOPES.get(role.code, Scope.ALL)
    if scope not in Scope.values:
        raise ValidationFailed(fields={"scope": _("Unknown scope: %(scope)s") % {"scope": scope}})
    if scope == Scope.BRANCH:
        branch = branch or user.branch
        if branch is None:
            raise ValidationFailed(
                fields={"branch": _("A branch is required for a branch-scoped grant.")}
            )
    else:
        branch = None
    if not role.is_active:
        raise ValidationFailed(fields={"role": _("This role is not active.")})
    held = _held_permissions(user)
    pairs = conflicts_in(held | set(role.permissions.values_list("code", flat=True)))
    if pairs:
        _raise_conflict(pairs, user.username, _permission_sources(user, role))
    return scope, branch


def _held_permissions(user: User) -> set[str]:
    return set(
        RolePermission.objects.filter(
            role__grants__user=user,
            role__grants__revoked_at__isnull=True,
            role__is_active=True,
        ).values_list("code", flat=True)
    )


def grant_request(
    *,
    actor: User,
    user: User,
    role: Role,
    scope: str | None = None,
    branch: Branch | None = None,
    reason: str,
) -> Grant | Any:
    """The entry point for people granting roles: checks everything now, then either grants
    (no approval needed by policy) or returns the pending approval request (maker-checker)."""

    scope, branch = _grant_target(actor=actor, user=user, role=role, scope=scope, branch=branch)
    outcome = approval_submit(
        actor=actor,
        action=ROLE_GRANT_ACTION,
        payload={
            "user_id": user.pk,
            "username": user.username,
            "role": role.code,
            "scope": scope,
            "branch_id": branch.pk if branch else None,
        },
        object_type="user",
        object_id=user.pk,
        reason=reason,
    )
    if outcome.required:
        return outcome.request
    return grant_create(
        actor=actor, user=user, role=role, scope=scope, branch=branch, reason=reason
    )


def role_grant_execute(*, request: Any, actor: User) -> dict[str, Any]:
    """Executor of an approved `access.role_grant` request: the grant is made in the maker's
    name (checked again now), inside the transaction of the final approval."""
    payload = request.payload
    user = User.objects.get(pk=payload["user_id"])
    branch = Branch.objects.get(pk=payload["branch_id"]) if payload.get("branch_id") else None
    grant = grant_create(
        actor=request.maker,
        user=user,
        role=role_get(payload["role"]),
        scope=payload["scope"],
        branch=branch,
        reason=f"{request.reason} (approval #{request.pk})".strip(),
    )
    return {"grant_id": grant.pk}


def role_grant_describe(payload: dict[str, Any]) -> str:
    return _("Grant role %(role)s (%(scope)s) to %(user)s") % {
        "role": payload.get("role"),
        "scope": payload.get("scope"),
        "user": payload.get("username"),
    }


def grant_create(
    *,
    actor: User | None,
    user: User,
    role: Role,
    scope: str | None = None,
    branch: Branch | None = None,
    reason: str = "",
) -> Grant:
    """Give `role` to `user` now. Refuses self-grants and grants that break segregation of
    duties. People go through `grant_request` (maker-checker); this is for executors, user
    creation and the system."""
    scope, branch = _grant_target(actor=actor, user=user, role=role, scope=scope, branch=branch)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # serialise grants per user
        if Grant.objects.filter(
            user=user, role=role, scope=scope, branch=branch, revoked_at__isnull=True
        ).exists():
            raise ValidationFailed(fields={"role": _("The user already has this grant.")})
        pairs = conflicts_in(
            _held_permissions(user) | set(role.permissions.values_list("code", flat=True))
        )
        if pairs:  # checked again under the lock: a concurrent grant may have landed
            _raise_conflict(pairs, user.username, _permission_sources(user, role))
        grant = Grant.objects.create(
            user=user,
            role=role,
            scope=scope,
            branch=branch,
            granted_by=actor,
            reason=reason,
        )
        _sync_groups(user)
        audit_record(
            actor=actor,
            action=AuditAction.ROLE_GRANTED,
            object_type="user",
            object_id=user.pk,
            after=_grant_snapshot(grant),
            reason=reason,
        )
    return grant


def grant_revoke(*, actor: User | None, grant: Grant, reason: str = "") -> Grant:
    _authorise(actor, "roles.manage")
    if actor is not None and actor.pk == grant.user_id:
        raise SelfGrantRefused()
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("user", "role", "branch")
            .get(pk=grant.pk)
        )
        if grant.revoked_at is not None:
            raise ValidationFailed(fields={"grant": _("This grant is already revoked.")})
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by"])
        _sync_groups(grant.user)
        audit_record(
            actor=actor,
            action=AuditAction.ROLE_REVOKED,
            object_type="user",
            object_id=grant.user_id,
            before=_grant_snapshot(grant),
            reason=reason,
        )
    return grant


def conflict_declare(*, actor: User | None, first: str, second: str) -> PermissionConflict:
    _authorise(actor, "roles.manage")
    if first == second:
        raise ValidationFailed(fields={"second": _("Choose two different permissions.")})
    first, second = _validate_permissions([first, second])
    with transaction.atomic():
        conflict, created = PermissionConflict.objects.get_or_create(
            first=first, second=second, defaults={"declared_by": actor}
        )
        if not created:
            raise ValidationFailed(fields={"second": _("This conflict is declared already.")})
        audit_record(
            actor=actor,
            action=AuditAction.CONFLICT_DECLARED,
            object_type="permission_conflict",
            object_id=conflict.pk,
            after={"first": first, "second": second},
        )
    return conflict


def conflict_remove(*, actor: User | None, conflict_id: int) -> None:
    _authorise(actor, "roles.manage")
    with transaction.atomic():
        conflict = PermissionConflict.objects.select_for_update().filter(pk=conflict_id).first()
        if conflict is None:
            raise NotFound()
        before = {"first": conflict.first, "second": conflict.second}
        conflict.delete()
        audit_record(
            actor=actor,
            action=AuditAction.CONFLICT_REMOVED,
            object_type="permission_conflict",
            object_id=conflict_id,
            before=before,
        )


def role_exists(code: str) -> bool:
    return Role.objects.filter(code=code, is_active=True).exists()


def role_get(code: str) -> Role:
    role = Role.objects.filter(code=code).first()
    if role is None:
        raise NotFound(_("No role has this code."), fields={"role": code})
    return role
