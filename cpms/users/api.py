"""API: who am I, branches, roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from cpms.core.errors import NotFound
from cpms.core.pagination import CursorPagination
from cpms.users import selectors
from cpms.users.schemas import BranchOut, MeOut, RoleOut

router = Router(tags=["users"])


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> Any:
    return request.auth


@router.get("/branches", response=list[BranchOut], summary="List branches")
@paginate(CursorPagination, ordering=("code", "pk"))
def branch_list(request: HttpRequest) -> Any:
    return selectors.branch_list(user=request.auth)


@router.get("/branches/{branch_id}", response=BranchOut, summary="One branch")
def branch_get(request: HttpRequest, branch_id: int) -> Any:
    branch = selectors.branch_get(user=request.auth, pk=branch_id)
    if branch is None:
        raise NotFound()
    return branch


@router.get("/roles", response=list[RoleOut], summary="List the roles")
@paginate(CursorPagination, ordering=("name", "pk"))
def role_list(request: HttpRequest) -> Any:
    return selectors.role_list(user=request.auth)
