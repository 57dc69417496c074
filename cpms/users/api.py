"""API: who am I, branches, roles, API tokens."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from cpms.core.errors import NotFound
from cpms.core.middleware import client_ip
from cpms.core.pagination import CursorPagination
from cpms.users import selectors, services
from cpms.users.schemas import (
    BranchOut,
    MeOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
)

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


@router.get("/tokens", response=list[TokenOut], summary="List API tokens")
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def token_list(request: HttpRequest, user: str | None = None) -> Any:
    return selectors.token_list_visible(user=request.auth, owner=user)


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token")
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Any:
    issued = services.token_create(
        actor=request.auth,
        user=selectors.token_owner_for(user=request.auth, owner=payload.user),
        name=payload.name,
        expires_days=payload.expires_days,
        scopes=payload.scopes,
        via_token=getattr(request, "api_token", None),
        password=payload.password,
        code=payload.code,
        ip=client_ip(request),
    )
    issued.record.token = issued.token
    return Status(201, issued.record)


@router.api_operation(
    ["DELETE"], "/tokens/{prefix}", response=TokenOut, summary="Revoke an API token"
)
def token_revoke(request: HttpRequest, prefix: str) -> Any:
    token = selectors.token_get_for_user(user=request.auth, prefix=prefix)
    if token is None:
        raise NotFound()
    return services.token_revoke(actor=request.auth, prefix=token.prefix)
