"""API for the audit app, mounted at /api/v1/audit/ by cpms.config.api."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from cpms.audit import selectors
from cpms.audit.schemas import CheckpointOut, EntryFilters, EntryOut, ProofOut, PublicKeyOut
from cpms.core.authz import require_permission
from cpms.core.pagination import CursorPagination

router = Router(tags=["audit"])


@router.get("/entries", response=list[EntryOut], summary="Search the audit log (newest first)")
@paginate(CursorPagination, ordering=selectors.ENTRY_ORDERING)
def entry_list(request: HttpRequest, filters: Query[EntryFilters]) -> Any:
    require_permission(request.auth, "audit.view")
    return selectors.entry_list(user=request.auth, filters=filters.dict())


@router.get("/entries/{entry_id}", response=EntryOut, summary="One audit entry")
def entry_get(request: HttpRequest, entry_id: int) -> Any:
    require_permission(request.auth, "audit.view")
    return selectors.entry_get(user=request.auth, pk=entry_id)


@router.get(
    "/entries/{entry_id}/proof",
    response=ProofOut,
    summary="Inclusion proof of one entry in the latest signed checkpoint",
)
def entry_proof(request: HttpRequest, entry_id: int) -> Any:
    require_permission(request.auth, "audit.view")
    return selectors.entry_proof(user=request.auth, entry_id=entry_id)


@router.get("/checkpoints", response=list[CheckpointOut], summary="Signed checkpoints")
@paginate(CursorPagination, ordering=("-pk",))
def checkpoint_list(request: HttpRequest) -> Any:
    require_permission(request.auth, "audit.view")
    return selectors.checkpoint_list(user=request.auth)


@router.get("/public-key", response=PublicKeyOut, summary="Checkpoint signing public key")
def public_key(request: HttpRequest) -> Any:
    require_permission(request.auth, "audit.view")
    return selectors.public_key(user=request.auth)
