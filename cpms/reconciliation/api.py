"""Reconciliation API, mounted at /api/v1/reconciliation/ (token scope area `ledger`): bank
accounts, statement import (multipart file or base64 JSON), statements with lines, manual
match/unmatch, breaks, CSV profiles and the daily report. Reads need `ledger.view`, writes
`ledger.reconcile`."""

import base64
import binascii
import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.errors import ValidationFailed
from cpms.core.jsonbody import parse_json_body
from cpms.core.pagination import CursorPagination
from cpms.reconciliation import selectors, services
from cpms.reconciliation.choices import BreakStatus
from cpms.reconciliation.models import RECONCILE_PERMISSION, VIEW_PERMISSION, Break
from cpms.reconciliation.schemas import (
    AssignIn,
    BankAccountOut,
    BreakOut,
    ImportJson,
    ImportOut,
    MatchIn,
    MatchOut,
    ProfileIn,
    ProfileOut,
    ReportOut,
    ResolveIn,
    StatementDetailOut,
    StatementOut,
    UnmatchIn,
)

router = Router(tags=["reconciliation"])


def statement_out(statement: Any) -> dict[str, Any]:
    return {
        **{
            name: getattr(statement, name)
            for name in StatementOut.model_fields
            if name not in ("account_code",)
        },
        "account_code": statement.account.code,
    }


def line_out(line: Any) -> dict[str, Any]:
    match = getattr(line, "active_match", None)
    return {
        **{
            name: getattr(line, name)
            for name in (
                "id",
                "index",
                "booking_date",
                "value_date",
                "amount_minor",
                "currency",
                "reference",
                "description",
                "counterparty",
                "counterparty_account",
                "bank_code",
                "running_balance_minor",
            )
        },
        "match_id": match.pk if match else None,
        "transfer_id": match.transfer_id if match else None,
        "match_how": match.how if match else None,
    }


def break_out(item: Break) -> dict[str, Any]:
    return {
        **{
            name: getattr(item, name)
            for name in BreakOut.model_fields
            if name not in ("age_days", "statement_id")
        },
        "statement_id": item.statement_id,
        "age_days": selectors.age_days(item.opened_at, timezone.localdate()),
    }


def _import_out(result: Any) -> dict[str, Any]:
    return {
        "statements": [statement_out(s) for s in result.statements],
        "consistent": result.consistent,
        "matches": result.matches,
        "breaks": result.breaks,
        "refused": [
            {
                "position": item.position,
                "statement_id": item.statement_id,
                "account_identifier": item.account_identifier,
                "currency": item.currency,
                "reason": item.reason,
            }
            for item in result.refused
        ],
    }


@router.get("/accounts", response=list[BankAccountOut], summary="Client-money bank accounts")
def account_list(request: HttpRequest) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.bank_account_rows(request.auth)


class StatementFilters(Schema):
    account: int | None = None


@router.get("/statements", response=list[StatementOut], summary="List bank statements")
@paginate(CursorPagination, ordering=("-imported_at", "-pk"))
def statement_list(request: HttpRequest, filters: Query[StatementFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.statement_list(request.auth, account_id=filters.account)


@router.post(
    "/statements", response={201: ImportOut}, summary="Import a statement (multipart file)"
)
def statement_import(
    request: HttpRequest,
    file: File[UploadedFile],
    format: Form[str] = "",
    profile: Form[str] = "",
    account: Form[str] = "",
) -> Any:
    """Every statement in the file, all or nothing. `consistent` false: imported, flagged."""
    require_permission(request.auth, RECONCILE_PERMISSION)
    result = services.statement_import(
        actor=request.auth,
        data=file.read(),
        filename=file.name or "",
        format=format or None,
        profile=profile or None,
        account=account or None,
    )
    return Status(201, _import_out(result))


@router.post(
    "/statements/base64", response={201: ImportOut}, summary="Import a statement (base64 JSON)"
)
def statement_import_json(request: HttpRequest, data: ImportJson) -> Any:
    require_permission(request.auth, RECONCILE_PERMISSION)
    try:
        content = base64.b64decode(data.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(fields={"content_base64": "Not valid base64."}) from None
    result = services.statement_import(
        actor=request.auth,
        data=content,
        filename=data.filename,
        format=data.format or None,
        profile=data.profile or None,
        account=data.account or None,
    )
    return Status(201, _import_out(result))


@router.get(
    "/statements/{statement_id}", response=StatementDetailOut, summary="One statement with lines"
)
def statement_get(request: HttpRequest, statement_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    statement = selectors.statement_get(request.auth, statement_id)
    return {
        **statement_out(statement),
        "lines": [line_out(line) for line in selectors.statement_lines(statement)],
    }


@router.post("/matches", response={201: MatchOut}, summary="Match a line to a transfer")
def match_create(request: HttpRequest, data: MatchIn) -> Any:
    require_permission(request.auth, RECONCILE_PERMISSION)
    match = services.match_create(
        actor=request.auth, line_id=data.line_id, transfer_id=data.transfer_id
    )
    return Status(201, match)


@router.post("/matches/{match_id}/undo", response=MatchOut, summary="Undo a match")
def match_undo(request: HttpRequest, match_id: int, data: UnmatchIn) -> Any:
    require_permission(request.auth, RECONCILE_PERMISSION)
    return services.match_undo(actor=request.auth, match_id=match_id, reason=data.reason)


class BreakFilters(Schema):
    status: BreakStatus | None = None
    account: int | None = None


@router.get("/breaks", response=list[BreakOut], summary="List breaks")
def break_list(request: HttpRequest, filters: Query[BreakFilters]) -> Any:
    """Oldest first."""
    require_permission(request.auth, VIEW_PERMISSION)
    rows = selectors.break_list(request.auth, status=filters.status, account_id=filters.account)
    return [break_out(item) for item in rows[:500]]


@router.post("/breaks/{break_id}/assign", response=BreakOut, summary="Assign a break")
def break_assign(request: HttpRequest, break_id: int, data: AssignIn) -> Any:
    require_permission(request.auth, RECONCILE_PERMISSION)
    return break_out(
        services.break_assign(actor=request.auth, break_id=break_id, owner_id=data.owner_id)
    )


@router.post("/breaks/{break_id}/resolve", response=BreakOut, summary="Resolve a break")
def break_resolve(request: HttpRequest, break_id: int, data: ResolveIn) -> Any:
    require_permission(request.auth, RECONCILE_PERMISSION)
    return break_out(services.break_resolve(actor=request.auth, break_id=break_id, note=data.note))


@router.get("/profiles", response=list[ProfileOut], summary="CSV profiles")
def profile_list(request: HttpRequest) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.profile_list(request.auth)


@router.post("/profiles", response={201: ProfileOut}, summary="Define a CSV profile")
def profile_create(request: HttpRequest, data: ProfileIn) -> Any:
    """The body is a CsvProfile as a dict (see docs/statement_formats.md)."""
    require_permission(request.auth, RECONCILE_PERMISSION)
    record = services.profile_save(actor=request.auth, data=parse_json_body(request.body))
    return Status(
        201,
        {
            "name": record.name,
            "label": record.label,
            "builtin": False,
            "definition": record.definition,
        },
    )


@router.get("/report", response=ReportOut, summary="Daily reconciliation report")
def report(request: HttpRequest, date: datetime.date | None = None) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.report_build(request.auth, date or timezone.localdate())
