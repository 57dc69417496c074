"""API of the access layer: permissions, roles, grants, conflicts (mounted at /api/v1/access/)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

from cpms.access import selectors, services
from cpms.access.models import Grant
from cpms.access.schemas import (
    ConflictIn,
    ConflictOut,
    GrantIn,
    GrantOut,
    PendingApprovalOut,
    PermissionOut,
    RevokeIn,
    RoleIn,
    RoleOut,
    RolePatch,
)
from cpms.core.errors import NotFound
from cpms.core.pagination import CursorPagination
from cpms.users.models import Branch

router = Router(tags=["access"])


@router.get("/permissions", response=list[PermissionOut], summary="The permission registry")
def permission_list(request: HttpRequest) -> Any:
    return list(selectors.permission_list(user=request.auth))


@router.get("/roles", response=list[RoleOut], summary="List roles")
@paginate(CursorPagination, ordering=("code", "pk"))
def role_list(request: HttpRequest) -> Any:
    return selectors.role_list(user=request.auth)


@router.get("/roles/{code}", response=RoleOut, summary="One role")
def role_get(request: HttpRequest, code: str) -> Any:
    return selectors.role_get(user=request.auth, code=code)


@router.post("/roles", response={201: RoleOut}, summary="Compose a new role")
def role_create(request: HttpRequest, payload: RoleIn) -> Any:
    role = services.role_create(actor=request.auth, **payload.dict())
    return Status(201, role)


@router.patch("/roles/{code}", response=RoleOut, summary="Change a role")
def role_update(request: HttpRequest, code: str, payload: RolePatch) -> Any:
    role = selectors.role_get(user=request.auth, code=code)
    return services.role_update(actor=request.auth, role=role, **payload.dict(exclude_unset=True))


@router.get("/grants", response=list[GrantOut], summary="List active grants")
@paginate(CursorPagination, ordering=("pk",))
def grant_list(request: HttpRequest, user: str | None = Query(None)) -> Any:
    grants = selectors.grant_list(user=request.auth)
    return grants.filter(user__username=user) if user else grants


@router.post(
    "/grants",
    response={201: GrantOut, 202: PendingApprovalOut},
    summary="Grant a role (or submit it for approval, per policy)",
)
def grant_create(request: HttpRequest, payload: GrantIn) -> Any:
    subject = selectors.staff_get_by_username(user=request.auth, username=payload.user)
    branch = None
    if payload.branch:
        branch = Branch.objects.filter(code=payload.branch).first()
        if branch is None:
            raise NotFound(fields={"branch": payload.branch})
    outcome = services.grant_request(
        actor=request.auth,
        user=subject,
        role=services.role_get(payload.role),
        scope=payload.scope,
        branch=branch,
        reason=payload.reason,
    )
    if isinstance(outcome, Grant):
        return Status(201, outcome)
    return Status(202, {"status": "pending_approval", "approval_request_id": outcome.pk})


@router.post("/grants/{grant_id}/revoke", response=GrantOut, summary="Revoke a grant")
def grant_revoke(request: HttpRequest, grant_id: int, payload: RevokeIn) -> Any:
    grant = selectors.grant_list(user=request.auth).filter(pk=grant_id).first()
    if grant is None:
        raise NotFound()
    return services.grant_revoke(actor=request.auth, grant=grant, reason=payload.reason)


@router.get("/conflicts", response=list[ConflictOut], summary="Declared conflicts")
@paginate(CursorPagination, ordering=("pk",))
def conflict_list(request: HttpRequest) -> Any:
    return selectors.conflict_list(user=request.auth)


@router.post("/conflicts", response={201: ConflictOut}, summary="Declare a conflict")
def conflict_declare(request: HttpRequest, payload: ConflictIn) -> Any:
    conflict = services.conflict_declare(
        actor=request.auth, first=payload.first, second=payload.second
    )
    return Status(201, conflict)


@router.delete("/conflicts/{conflict_id}", response={204: None}, summary="Remove a conflict")
def conflict_remove(request: HttpRequest, conflict_id: int) -> Any:
    services.conflict_remove(actor=request.auth, conflict_id=conflict_id)
    return Status(204, None)
