"""API: who am I, branches, roles, API tokens."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.errors import NotFound, PermissionDenied
from cpms.core.pagination import CursorPagination
from cpms.users import selectors, services
from cpms.users.auth import require_token_scope
from cpms.users.models import User
from cpms.users.schemas import (
    BranchOut,
    MeOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
)
from cpms.users.scopes import scopes_cover, scopes_normalise

router = Router(tags=["users"])


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> Any:
    return request.auth


@router.get("/branches", response=list[BranchOut], summary="List branches")
@paginate(CursorPagination, ordering=("code", "pk"))
def branch_list(request: HttpRequest) -> Any:
    require_token_scope(request, "users")
    return selectors.branch_list(user=request.auth)


@router.get("/branches/{branch_id}", response=BranchOut, summary="One branch")
def branch_get(request: HttpRequest, branch_id: int) -> Any:
    require_token_scope(request, "users")
    branch = selectors.branch_get(user=request.auth, pk=branch_id)
    if branch is None:
        raise NotFound()
    return branch


@router.get("/tokens", response=list[TokenOut], summary="List API tokens")
@paginate(CursorPagination, ordering=("-created_at", "-pk"))
def token_list(request: HttpRequest, user: str | None = None) -> Any:
    require_token_scope(request, "access")
    if user is not None and user != request.auth.username:
        require_permission(request.auth, "tokens.manage")
        owner = User.objects.filter(username=user).first()
        if owner is None:
            raise NotFound()
        return selectors.token_list(user=owner)
    return selectors.token_list(user=request.auth)


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token")
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Any:
    require_token_scope(request, "access", write=True)
    owner = request.auth
    if payload.user is not None and payload.user != request.auth.username:
        require_permission(request.auth, "tokens.manage")
        owner = User.objects.filter(username=payload.user).first()
        if owner is None:
            raise NotFound()
    scopes = scopes_normalise(payload.scopes)
    calling_token = getattr(request, "api_token", None)
    if calling_token is not None and not scopes_cover(calling_token.scopes, scopes):
        raise PermissionDenied(
            _("A token cannot create a token with scopes it does not have itself."),
            code="token.scope_insufficient",
            fields={"scopes": scopes, "token_scopes": list(calling_token.scopes)},
        )
    issued = services.token_create(
        actor=request.auth,
        user=owner,
        name=payload.name,
        expires_days=payload.expires_days,
        scopes=scopes,
    )
    issued.record.token = issued.token
    return Status(201, issued.record)


@router.api_operation(
    ["DELETE"], "/tokens/{prefix}", response=TokenOut, summary="Revoke an API token"
)
def token_revoke(request: HttpRequest, prefix: str) -> Any:
    require_token_scope(request, "access", write=True)
    token = selectors.token_get_for_user(user=request.auth, prefix=prefix)
    if token is None:
        raise NotFound()
    return services.token_revoke(actor=request.auth, prefix=token.prefix)
