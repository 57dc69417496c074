"""What a checker reads about a role grant (`access.role_grant`): the person, the role by its
translated name, the scope and branch, the roles they hold now, and whether the grant passes
the separation-of-duties rules as things stand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.access.choices import Scope
from cpms.access.labels import permission_label
from cpms.access.models import Grant, Role, RolePermission
from cpms.access.services import conflicts_in
from cpms.approvals.context import ApprovalContext, rows
from cpms.users.models import Branch, User


def role_grant_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    user = User.objects.select_related("branch").filter(pk=payload.get("user_id")).first()
    role = Role.objects.filter(code=str(payload.get("role") or "")).first()
    branch = None
    if payload.get("branch_id"):
        branch = Branch.objects.filter(pk=payload.get("branch_id")).first()
    person = str(user) if user is not None else str(payload.get("username") or "?")
    if user is not None and person != user.username:
        person = f"{person} ({user.username})"
    role_name = str(role.display_name) if role is not None else str(payload.get("role") or "?")
    scope_labels = dict(Scope.choices)
    scope = str(scope_labels.get(payload.get("scope"), payload.get("scope") or ""))
    warnings: list[str] = []
    held: list[str] = []
    if user is None:
        warnings.append(_("This person no longer exists."))
    elif not user.is_active:
        warnings.append(_("This person's account is deactivated."))
    if role is None:
        warnings.append(_("This role no longer exists."))
    elif not role.is_active:
        warnings.append(_("This role is not active."))
    sod = ""
    if user is not None and role is not None:
        grants = Grant.objects.filter(
            user=user, revoked_at__isnull=True, role__is_active=True
        ).select_related("role")
        held = sorted({str(grant.role.display_name) for grant in grants})
        codes = set(
            RolePermission.objects.filter(
                role__grants__user=user,
                role__grants__revoked_at__isnull=True,
                role__is_active=True,
            ).values_list("code", flat=True)
        )
        codes |= set(role.permissions.values_list("code", flat=True))
        pairs = conflicts_in(codes)
        if pairs:
            sod = _("Conflict: %(pairs)s") % {
                "pairs": "; ".join(
                    f"{permission_label(first)} + {permission_label(second)}"
                    for first, second in pairs
                )
            }
            warnings.append(
                _("Approving would break a separation-of-duties rule; it will be refused.")
            )
        else:
            sod = _("Passed: no conflicting duties")
    title = _("Grant the role %(role)s to %(person)s") % {"role": role_name, "person": person}
    return ApprovalContext(
        title=title,
        rows=rows(
            (_("Person"), person),
            (_("Their branch"), str(user.branch) if user is not None and user.branch else ""),
            (_("Role"), role_name),
            (_("Scope"), scope),
            (_("Branch"), str(branch) if branch is not None else ""),
            (_("Roles held now"), ", ".join(held) if held else _("None")),
            (_("Separation of duties"), sod),
        ),
        warnings=tuple(warnings),
    )
