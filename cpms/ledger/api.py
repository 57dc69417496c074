"""API of the ledger, mounted at /api/v1/ledger/ by cpms.config.api (token scope area `ledger`).

Amounts are integer minor units of the account's asset (`exponent` says how many decimals).
Accounts are named by id or code. Lists are keyset-paginated (`limit`, `cursor`,
`next_cursor`). Customer accounts follow the customer's scope: out of scope looks like missing
(404)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from cpms.access.checks import require_permission
from cpms.core.errors import ValidationFailed
from cpms.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from cpms.ledger import selectors, services, statements
from cpms.ledger.choices import AccountKind, AccountPurpose, TransferKind
from cpms.ledger.models import (
    VIEW_PERMISSION,
    Account,
    PeriodClose,
    Transfer,
)
from cpms.ledger.schemas import (
    AccountOpenIn,
    AccountOut,
    LedgerStatementOut,
    PeriodCloseIn,
    ReasonIn,
    ReverseIn,
    TransferOut,
    TransferPostIn,
)

router = Router(tags=["ledger"])


# ------------------------------------------------------------------------ output shapes


class TransferPostOut(Schema):
    replayed: bool
    transfers: list[TransferOut]
    approval_request_ids: list[int]


class TransferDetailOut(TransferOut):
    resolution_id: int | None = Field(None, description="The row that posted or voided a hold")
    reversed_by_id: int | None = Field(None, description="The reversal of this transfer")


class TransferPage(Schema):
    items: list[TransferOut]
    next_cursor: str | None


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None


class TrialBalanceRowOut(Schema):
    account_id: int
    code: str
    asset: str
    debits_minor: int
    credits_minor: int
    net_debit_minor: int


class TrialBalanceAssetOut(Schema):
    asset: str
    exponent: int
    accounts: int
    debits_minor: int
    credits_minor: int
    balanced: bool


class TrialBalanceOut(Schema):
    assets: list[TrialBalanceAssetOut]
    rows: list[TrialBalanceRowOut]


class PeriodOut(Schema):
    id: int
    through: datetime.date
    reason: str
    closed_at: datetime.datetime
    closed_by: str | None


class PageIn(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


class TransferFilters(PageIn):
    account: str | None = Field(None, description="Account id or code (either side).")
    kind: TransferKind | None = None
    reference: str | None = Field(None, description="Part of the reference.")
    date_from: datetime.date | None = Field(None, description="Value date on or after.")
    date_to: datetime.date | None = Field(None, description="Value date on or before.")


class HoldFilters(PageIn):
    awaiting_approval: bool | None = Field(
        None, description="true: only holds awaiting approval; false: only plain holds."
    )


class AccountFilters(PageIn):
    customer_id: int | None = None
    kind: AccountKind | None = None
    purpose: AccountPurpose | None = None
    asset: str | None = Field(None, description="Asset code, e.g. CNY, PTS, U:600519.SH")
    q: str | None = Field(None, description="Part of the code or name.")


class StatementQuery(Schema):
    start: datetime.date | None = Field(
        None, description="First value date (inclusive). Default: first day of this month."
    )
    end: datetime.date | None = Field(
        None, description="Last value date (inclusive). Default: today."
    )
    format: str = Field("json", description="json, pdf or xlsx (files are audited).")


# ------------------------------------------------------------------------ serialisation


def transfer_dict(transfer: Transfer, state: str | None = None) -> dict[str, Any]:
    return {
        "id": transfer.pk,
        "idempotency_key": transfer.idempotency_key,
        "kind": transfer.kind,
        "state": state,
        "debit_account": transfer.debit_account.code,
        "credit_account": transfer.credit_account.code,
        "asset": transfer.debit_account.asset.code,
        "amount_minor": transfer.amount,
        "reference": transfer.reference,
        "value_date": transfer.value_date,
        "metadata": transfer.metadata,
        "pending_id": transfer.pending_id,
        "reverses_id": transfer.reverses_id,
        "batch": str(transfer.batch) if transfer.batch else None,
        "expires_at": transfer.expires_at,
        "approval_request_id": transfer.approval_request_id,
        "created_at": transfer.created_at,
    }


def _transfers(transfers: list[Transfer]) -> list[dict[str, Any]]:
    states = selectors.hold_states(transfers)
    return [transfer_dict(transfer, states.get(transfer.pk)) for transfer in transfers]


def _transfer_detail(transfer: Transfer) -> dict[str, Any]:
    return {
        **transfer_dict(transfer, selectors.hold_state(transfer)),
        **selectors.transfer_links(transfer),
    }


def _balance_dict(balance: selectors.AccountBalance) -> dict[str, int]:
    return {
        "posted_minor": balance.posted,
        "pending_debits_minor": balance.debits_pending,
        "pending_credits_minor": balance.credits_pending,
        "available_minor": balance.available,
        "debits_posted_minor": balance.debits_posted,
        "credits_posted_minor": balance.credits_posted,
    }


def account_dict(account: Account, balance: selectors.AccountBalance | None) -> dict[str, Any]:
    return {
        "id": account.pk,
        "code": account.code,
        "name": account.name,
        "asset": account.asset.code,
        "exponent": account.asset.exponent,
        "kind": account.kind,
        "purpose": account.purpose,
        "normal_side": account.normal_side,
        "no_negative": account.no_negative,
        "status": account.status,
        "customer_id": account.customer_id,
        "holding_id": account.holding_id,
        "balance": _balance_dict(balance) if balance is not None else None,
    }


def _outcome(outcome: services.TransferOutcome) -> Any:
    body = {
        "replayed": outcome.replayed,
        "transfers": _transfers(list(outcome.transfers)),
        "approval_request_ids": list(outcome.approval_request_ids),
    }
    return Status(200 if outcome.replayed else 201, body)


# ------------------------------------------------------------------------ transfers


# an empty body reaches the service, which refuses it like any body of the wrong shape
_NO_BODY = TransferPostIn()


@router.post(
    "/transfers",
    response={200: TransferPostOut, 201: TransferPostOut},
    summary="Post one transfer or a batch",
    openapi_extra={"requestBody": {"required": True}},
)
def transfer_post(request: HttpRequest, data: TransferPostIn = _NO_BODY) -> Any:
    """The body is one transfer (`TransferIn`) or a linked batch `{"transfers": [...up to
    8,190], "reason": "..."}` posted all-or-nothing. Transfers of money above the approval
    threshold become holds awaiting approval (`approval_request_ids`). 201 when posted; 200
    with `replayed: true` when every idempotency key was seen before (nothing posted)."""
    return _outcome(services.transfer_request_post(actor=request.auth, body=data))


@router.get("/transfers", response=TransferPage, summary="List transfers")
def transfer_list(request: HttpRequest, filters: Query[TransferFilters]) -> Any:
    """Newest first; `account` limits to transfers on either side of one account."""
    require_permission(request.auth, VIEW_PERMISSION)
    values: dict[str, Any] = {
        "kind": filters.kind,
        "reference": filters.reference,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
    }
    if filters.account:
        values["account_id"] = selectors.account_get_for_user(
            user=request.auth, ref=filters.account
        ).pk
    rows, cursor = keyset_page(
        selectors.transfer_list(request.auth, filters=values),
        limit=filters.limit,
        cursor=filters.cursor,
        ordering=("-pk",),
    )
    return {"items": _transfers(rows), "next_cursor": cursor}


@router.get("/transfers/{transfer_id}", response=TransferDetailOut, summary="One transfer")
def transfer_get(request: HttpRequest, transfer_id: int) -> Any:
    """With the hold state (`pending`, `posted`, `voided`) of a hold, the row that resolved it
    and the reversal, if any."""
    require_permission(request.auth, VIEW_PERMISSION)
    transfer = selectors.transfer_get_for_user(user=request.auth, transfer_id=transfer_id)
    return _transfer_detail(transfer)


@router.post(
    "/transfers/{transfer_id}/reverse",
    response={200: TransferPostOut, 201: TransferPostOut},
    summary="Reverse a posted transfer",
)
def transfer_reverse(request: HttpRequest, transfer_id: int, data: ReverseIn) -> Any:
    """Posts the mirror transfer linked to the original (once; a replay answers 200)."""
    outcome = services.transfer_reverse(
        actor=request.auth,
        transfer_id=transfer_id,
        reason=data.reason,
        idempotency_key=data.idempotency_key,
    )
    return _outcome(outcome)


# ------------------------------------------------------------------------ holds


@router.get("/holds", response=TransferPage, summary="Holds not yet posted or voided")
def hold_list(request: HttpRequest, filters: Query[HoldFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    rows, cursor = keyset_page(
        selectors.hold_list(request.auth, awaiting_approval=filters.awaiting_approval),
        limit=filters.limit,
        cursor=filters.cursor,
        ordering=("-pk",),
    )
    return {"items": _transfers(rows), "next_cursor": cursor}


@router.post("/holds/{hold_id}/post", response=TransferDetailOut, summary="Post a hold")
def hold_post(request: HttpRequest, hold_id: int, data: ReasonIn) -> Any:
    """A hold awaiting approval posts only through its approval request (409)."""
    services.hold_post(actor=request.auth, transfer_id=hold_id, reason=data.reason)
    transfer = selectors.transfer_get_for_user(user=request.auth, transfer_id=hold_id)
    return _transfer_detail(transfer)


@router.post("/holds/{hold_id}/void", response=TransferDetailOut, summary="Void a hold")
def hold_void(request: HttpRequest, hold_id: int, data: ReasonIn) -> Any:
    """Releases the reserved funds; `reason` is required."""
    services.hold_void(actor=request.auth, transfer_id=hold_id, reason=data.reason)
    transfer = selectors.transfer_get_for_user(user=request.auth, transfer_id=hold_id)
    return _transfer_detail(transfer)


# ------------------------------------------------------------------------ accounts


@router.get("/accounts", response=AccountPage, summary="List accounts with balances")
def account_list(request: HttpRequest, filters: Query[AccountFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    query = selectors.account_list(
        request.auth,
        filters={
            "customer_id": filters.customer_id,
            "kind": filters.kind,
            "purpose": filters.purpose,
            "asset": filters.asset,
            "q": filters.q,
        },
    )
    rows, cursor = keyset_page(query, limit=filters.limit, cursor=filters.cursor, ordering=("pk",))
    balances = selectors.balances_for(rows)
    return {
        "items": [account_dict(account, balances[account.pk]) for account in rows],
        "next_cursor": cursor,
    }


@router.post("/accounts", response={201: AccountOut}, summary="Open an account")
def account_open(request: HttpRequest, data: AccountOpenIn) -> Any:
    """A customer account (customer in scope) or an internal account (optionally with its own
    `code`). An existing account is refused naming its code."""
    account = services.account_open(actor=request.auth, **data.model_dump())
    return Status(201, account_dict(account, selectors.account_balance(account)))


@router.get("/accounts/{account_ref}", response=AccountOut, summary="One account with balances")
def account_get(request: HttpRequest, account_ref: str) -> Any:
    """By id or code. `balance.posted_minor` is on the account's normal side;
    `available_minor` subtracts outgoing holds."""
    require_permission(request.auth, VIEW_PERMISSION)
    account = selectors.account_get_for_user(user=request.auth, ref=account_ref)
    return account_dict(account, selectors.account_balance(account))


@router.get(
    "/accounts/{account_ref}/statement",
    response=LedgerStatementOut,
    summary="Statement of an account for a period",
)
def account_statement(request: HttpRequest, account_ref: str, params: Query[StatementQuery]) -> Any:
    """Opening balance (everything posted before `start`), posted lines by value date with a
    running balance, closing balance. `format=pdf` or `format=xlsx` returns the file (an
    audited read, `ledger.statement_exported`)."""
    require_permission(request.auth, VIEW_PERMISSION)
    fmt = (params.format or "json").lower()
    today = timezone.localdate()
    start = params.start or today.replace(day=1)
    end = params.end or today
    if fmt in statements.FORMATS:
        exported = services.statement_export(
            actor=request.auth, account_ref=account_ref, start=start, end=end, fmt=fmt
        )
        response = HttpResponse(exported.content, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        return response
    if fmt != "json":
        raise ValidationFailed(fields={"format": _("Use json, pdf or xlsx.")})
    start, end = statements.validate_period(start, end)
    account = selectors.account_get_for_user(user=request.auth, ref=account_ref)
    statement = selectors.account_statement(account, start=start, end=end)
    return {
        "account": account_dict(account, selectors.account_balance(account)),
        "start": statement.start,
        "end": statement.end,
        "opening_minor": statement.opening,
        "closing_minor": statement.closing,
        "total_debits_minor": statement.total_debits,
        "total_credits_minor": statement.total_credits,
        "lines": [
            {
                "transfer_id": line.transfer.pk,
                "value_date": line.transfer.value_date,
                "reference": line.transfer.reference,
                "counterparty": line.counterparty,
                "debit_minor": line.debit,
                "credit_minor": line.credit,
                "balance_minor": line.balance,
            }
            for line in statement.lines
        ],
    }


# ------------------------------------------------------------------------ books


@router.get("/trial-balance", response=TrialBalanceOut, summary="Trial balance")
def trial_balance(request: HttpRequest) -> Any:
    """Posted debit and credit totals per account and per asset (equal for every asset when
    every account of the asset is in the caller's scope)."""
    require_permission(request.auth, VIEW_PERMISSION)
    rows = selectors.trial_balance(request.auth)
    return {
        "assets": [
            {
                "asset": total.asset,
                "exponent": total.exponent,
                "accounts": total.accounts,
                "debits_minor": total.debits,
                "credits_minor": total.credits,
                "balanced": total.balanced,
            }
            for total in selectors.trial_balance_totals(rows)
        ],
        "rows": [
            {
                "account_id": row.account_id,
                "code": row.code,
                "asset": row.asset,
                "debits_minor": row.debits,
                "credits_minor": row.credits,
                "net_debit_minor": row.net_debit,
            }
            for row in rows
        ],
    }


def _period_dict(close: PeriodClose) -> dict[str, Any]:
    return {
        "id": close.pk,
        "through": close.through,
        "reason": close.reason,
        "closed_at": close.closed_at,
        "closed_by": close.closed_by.get_username() if close.closed_by else None,
    }


@router.get("/periods", response=list[PeriodOut], summary="Period closes")
def period_list(request: HttpRequest) -> Any:
    """Latest first; nothing may be posted with a value date on or before the latest."""
    require_permission(request.auth, VIEW_PERMISSION)
    return [_period_dict(close) for close in selectors.period_list(request.auth)]


@router.post("/periods/close", response={201: PeriodOut}, summary="Close the books")
def period_close(request: HttpRequest, data: PeriodCloseIn) -> Any:
    """Through a past date after the latest close (`ledger.close`)."""
    close = services.period_close(actor=request.auth, through=data.through, reason=data.reason)
    return Status(201, _period_dict(close))
