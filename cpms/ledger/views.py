"""Console pages of the ledger: accounts with balances, account detail, transfers, the
post-a-transfer form, holds (awaiting approval and plain), reversal, period close, trial
balance and statements (HTML, PDF, XLSX). Reads need `ledger.view`, actions `ledger.post`,
the period close `ledger.close`; customer accounts follow the customer's scope (404)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.ledger import display, selectors, services, statements
from cpms.ledger.assets import format_minor
from cpms.ledger.choices import HoldState, TransferKind
from cpms.ledger.forms import (
    AccountFilterForm,
    PeriodCloseForm,
    ReasonForm,
    StatementForm,
    TransferFilterForm,
    TransferForm,
)
from cpms.ledger.models import (
    CLOSE_PERMISSION,
    POST_PERMISSION,
    VIEW_PERMISSION,
    Account,
    Transfer,
)

SECTION = "ledger"
RECENT_ROWS = 20


def _money(amount: int, exponent: int) -> str:
    """12345, 2 -> '123.45' with thousands separators."""
    text = format_minor(amount, exponent)
    sign = "-" if text.startswith("-") else ""
    whole, _dot, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def _account_or_404(request: HttpRequest, ref: Any) -> Account:
    try:
        return selectors.account_get_for_user(user=request.user, ref=ref)
    except NotFound as exc:
        raise Http404 from exc


def _transfer_or_404(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Transfer:
    try:
        return selectors.transfer_get_for_user(
            user=request.user, transfer_id=pk, permission=permission
        )
    except NotFound as exc:
        raise Http404 from exc


def _balance_row(account: Account, balance: selectors.AccountBalance) -> dict[str, Any]:
    asset = account.asset
    return {
        "account": account,
        "label": display.account_label(account),
        "posted": display.money(balance.posted, asset),
        "available": display.money(balance.available, asset),
        "pending_debits": display.money(balance.debits_pending, asset),
        "pending_credits": display.money(balance.credits_pending, asset),
        "held": balance.debits_pending or balance.credits_pending,
    }


def _side(account: Account, visible: set[int]) -> dict[str, Any]:
    """One side of a transfer for a page: its readable name, linked when the reader may open
    it; a customer account outside the reader's scope is named by nothing but its purpose."""
    if account.pk in visible:
        return {"label": display.account_label(account), "pk": account.pk}
    return {
        "label": _("Another customer's account (%(purpose)s)")
        % {"purpose": account.get_purpose_display()},
        "pk": None,
    }


def _visible_ids(user: Any, accounts: list[Account]) -> set[int]:
    ids = {account.pk for account in accounts}
    if not ids:
        return set()
    return set(selectors.visible_accounts(user).filter(pk__in=ids).values_list("pk", flat=True))


def _transfer_rows(transfers: list[Transfer], user: Any) -> list[dict[str, Any]]:
    states = selectors.hold_states(transfers)
    visible = _visible_ids(
        user, [acc for t in transfers for acc in (t.debit_account, t.credit_account)]
    )
    return [
        {
            "transfer": transfer,
            "amount": display.money(transfer.amount, transfer.asset),
            "memo": display.memo(transfer),
            "debit": _side(transfer.debit_account, visible),
            "credit": _side(transfer.credit_account, visible),
            "state": states.get(transfer.pk),
            "state_label": HoldState(states[transfer.pk]).label if transfer.pk in states else "",
        }
        for transfer in transfers
    ]


def _page_summary(query: Any, rows: list[Any], *, descending: bool) -> str:
    """ "1–25 of 1,234" for a keyset page ordered by pk (counts use the primary key index)."""
    total = query.count()
    if not rows:
        return _("%(first)s–%(last)s of %(total)s") % {"first": 0, "last": 0, "total": 0}
    first_pk = rows[0].pk
    earlier = query.filter(pk__gt=first_pk) if descending else query.filter(pk__lt=first_pk)
    before = earlier.count()
    return _("%(first)s–%(last)s of %(total)s") % {
        "first": f"{before + 1:,}",
        "last": f"{before + len(rows):,}",
        "total": f"{total:,}",
    }


# ------------------------------------------------------------------------ accounts


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    form = AccountFilterForm(request.GET or None, user=request.user)
    query = selectors.account_list(request.user, filters=form.filters())
    rows, next_cursor, params = console_page(request, query, ordering=("pk",))
    balances = selectors.balances_for(rows)
    return render(
        request,
        "ledger/accounts.html",
        {
            "section": SECTION,
            "form": form,
            "rows": [_balance_row(account, balances[account.pk]) for account in rows],
            "summary": _page_summary(query, rows, descending=False),
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "can_post": user_has_permission(request.user, POST_PERMISSION),
        },
    )


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    account = _account_or_404(request, pk)
    balance = selectors.account_balance(account)
    recent = list(
        selectors.transfer_list(request.user, filters={"account_id": account.pk})[:RECENT_ROWS]
    )
    holds = list(
        selectors.hold_list(request.user).filter(
            Q(debit_account=account) | Q(credit_account=account)
        )[:RECENT_ROWS]
    )
    today = timezone.localdate()
    return render(
        request,
        "ledger/account_detail.html",
        {
            "section": SECTION,
            "account": account,
            "balance": _balance_row(account, balance),
            "recent": _transfer_rows(recent, request.user),
            "holds": _transfer_rows(holds, request.user),
            "statement_form": StatementForm(
                initial={"start": _month_start(today).isoformat(), "end": today.isoformat()}
            ),
            "can_post": user_has_permission(request.user, POST_PERMISSION),
        },
    )


# ------------------------------------------------------------------------ transfers


@login_required
def transfer_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    form = TransferFilterForm(request.GET or None, user=request.user)
    query = selectors.transfer_list(request.user, filters=form.filters())
    if form.is_bound and not form.is_valid():
        query = query.none()
    rows, next_cursor, params = console_page(request, query, ordering=("-pk",))
    return render(
        request,
        "ledger/transfers.html",
        {
            "section": SECTION,
            "form": form,
            "rows": _transfer_rows(rows, request.user),
            "summary": _page_summary(query, rows, descending=True),
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "can_post": user_has_permission(request.user, POST_PERMISSION),
        },
    )


@login_required
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    transfer = _transfer_or_404(request, pk)
    links = selectors.transfer_links(transfer)
    state = selectors.hold_state(transfer)
    linked = {
        key: Transfer.objects.filter(pk=value).first() if value else None
        for key, value in (
            ("resolution", links["resolution_id"]),
            ("reversal", links["reversed_by_id"]),
        )
    }
    # reversing and resolving need both sides in the ledger.post scope (the transfer may be
    # visible through an internal account only)
    can_post = selectors.transfer_actionable(request.user, transfer, POST_PERMISSION)
    [row] = _transfer_rows([transfer], request.user)
    return render(
        request,
        "ledger/transfer_detail.html",
        {
            "section": SECTION,
            "transfer": transfer,
            "row": row,
            "amount": row["amount"],
            "metadata": display.metadata_rows(transfer.metadata),
            "state": state,
            "state_label": HoldState(state).label if state else "",
            "resolution": linked["resolution"],
            "reversal": linked["reversal"],
            "can_reverse": can_post
            and transfer.kind in (TransferKind.POSTED, TransferKind.POST_PENDING)
            and transfer.reverses_id is None
            and linked["reversal"] is None,
            "can_resolve": can_post
            and state == HoldState.PENDING
            and transfer.approval_request_id is None,
            "void_form": ReasonForm(),
        },
    )


_PREFILL = {"debit_account": "debit", "credit_account": "credit"}

_FIELD_ALIASES: dict[str, str | None] = {
    "amount_minor": "amount",
    "transfers": None,
    "request": None,
}


def _apply_errors(form: Any, exc: CpmsError) -> None:
    """Put a service refusal next to the fields it names."""
    form_errors(form, exc, aliases=_FIELD_ALIASES)


@login_required
def transfer_create(request: HttpRequest) -> HttpResponse:
    require_staff(request, POST_PERMISSION)
    initial: dict[str, Any] = {"idempotency_key": TransferForm.new_key()}
    # "Transfer from/to this account" links name the account (by id; a code still works)
    refs = {name: (request.GET.get(key) or "").strip()[:64] for name, key in _PREFILL.items()}
    found = selectors.accounts_for_user(
        request.user, [ref for ref in refs.values() if ref], POST_PERMISSION
    )
    for name, ref in refs.items():
        if ref in found:
            initial[name] = found[ref].pk
    form = TransferForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = services.transfer_post(
                actor=request.user,
                data={
                    "debit_account": data["debit_account"].code,
                    "credit_account": data["credit_account"].code,
                    "amount_minor": data["amount"],
                    "reference": data["reference"],
                    "value_date": data["value_date"],
                    "pending": data["pending"],
                    "idempotency_key": data["idempotency_key"],
                },
                reason=data["reason"],
            )
        except CpmsError as exc:
            _apply_errors(form, exc)
        else:
            transfer = outcome.transfer
            if outcome.approval_request_ids:
                messages.info(
                    request,
                    _("The amount needs approval: the funds are held until it is approved."),
                )
            elif transfer.kind == TransferKind.PENDING:
                messages.success(request, _("Hold placed."))
            else:
                messages.success(request, _("Transfer posted."))
            return redirect("ledger:transfer", pk=transfer.pk)
    return render(
        request,
        "ledger/form.html",
        {"section": SECTION, "form": form, "title": _("Post a transfer"), "button": _("Post")},
    )


@login_required
def transfer_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, POST_PERMISSION)
    transfer = _transfer_or_404(request, pk, POST_PERMISSION)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.transfer_reverse(
                actor=request.user, transfer_id=transfer.pk, reason=form.cleaned_data["reason"]
            )
        except NotFound as exc:
            raise Http404 from exc
        except CpmsError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Transfer reversed."))
            return redirect("ledger:transfer", pk=outcome.transfer.pk)
    return render(
        request,
        "ledger/form.html",
        {
            "section": SECTION,
            "form": form,
            "transfer": transfer,
            "row": _transfer_rows([transfer], request.user)[0],
            "title": _("Reverse transfer #%(id)s") % {"id": transfer.pk},
            "button": _("Reverse"),
        },
    )


# ------------------------------------------------------------------------ holds


@login_required
def hold_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    awaiting = list(selectors.hold_list(request.user, awaiting_approval=True)[:100])
    rows, next_cursor, params = console_page(
        request, selectors.hold_list(request.user, awaiting_approval=False), ordering=("-pk",)
    )
    return render(
        request,
        "ledger/holds.html",
        {
            "section": SECTION,
            "awaiting": _transfer_rows(awaiting, request.user),
            "rows": _transfer_rows(rows, request.user),
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "can_post": user_has_permission(request.user, POST_PERMISSION),
        },
    )


def _resolve(request: HttpRequest, pk: int, *, post_it: bool) -> HttpResponse:
    require_staff(request, POST_PERMISSION)
    reason = (request.POST.get("reason") or "").strip()[:2000]
    try:
        if post_it:
            services.hold_post(actor=request.user, transfer_id=pk, reason=reason)
        else:
            services.hold_void(actor=request.user, transfer_id=pk, reason=reason)
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Hold posted.") if post_it else _("Hold voided."))
    return redirect("ledger:transfer", pk=pk)


@login_required
@require_POST
def hold_post(request: HttpRequest, pk: int) -> HttpResponse:
    return _resolve(request, pk, post_it=True)


@login_required
@require_POST
def hold_void(request: HttpRequest, pk: int) -> HttpResponse:
    return _resolve(request, pk, post_it=False)


# ------------------------------------------------------------------------ books


@login_required
def period_close(request: HttpRequest) -> HttpResponse:
    require_staff(request, CLOSE_PERMISSION)
    form = PeriodCloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.period_close(
                actor=request.user,
                through=form.cleaned_data["through"],
                reason=form.cleaned_data["reason"],
            )
        except CpmsError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The books are closed."))
            return redirect("ledger:periods")
    return render(
        request,
        "ledger/periods.html",
        {"section": SECTION, "form": form, "closes": list(selectors.period_list(request.user))},
    )


@login_required
def trial_balance(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    rows = selectors.trial_balance(request.user)
    totals = selectors.trial_balance_totals(rows)
    names = {
        account.pk: display.account_label(account)
        for account in Account.objects.select_related("asset", "customer", "holding").filter(
            pk__in=[row.account_id for row in rows]
        )
    }
    return render(
        request,
        "ledger/trial_balance.html",
        {
            "section": SECTION,
            "rows": [
                {
                    "row": row,
                    "name": names.get(row.account_id, row.code),
                    "debits": _money(row.debits, row.exponent),
                    "credits": _money(row.credits, row.exponent),
                    "net": _money(row.net_debit, row.exponent),
                }
                for row in rows
            ],
            "totals": [
                {
                    "total": total,
                    "debits": _money(total.debits, total.exponent),
                    "credits": _money(total.credits, total.exponent),
                    "difference": _money(total.difference, total.exponent),
                }
                for total in totals
            ],
        },
    )


def _period(request: HttpRequest) -> tuple[StatementForm, datetime.date, datetime.date]:
    today = timezone.localdate()
    form = StatementForm(
        request.GET or {"start": _month_start(today).isoformat(), "end": today.isoformat()}
    )
    start, end = _month_start(today), today
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return form, start, end


@login_required
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    account = _account_or_404(request, pk)
    form, start, end = _period(request)
    result = None
    if form.is_valid():
        try:
            statements.validate_period(start, end)
        except CpmsError as exc:
            _apply_errors(form, exc)
        else:
            result = selectors.account_statement(account, start=start, end=end)
    exponent = account.asset.exponent
    lines = []
    if result is not None:
        lines = [
            {
                "line": line,
                "memo": display.memo(line.transfer),
                "debit": _money(line.debit, exponent) if line.debit else "",
                "credit": _money(line.credit, exponent) if line.credit else "",
                "balance": _money(line.balance, exponent),
            }
            for line in result.lines
        ]
    return render(
        request,
        "ledger/statement.html",
        {
            "section": SECTION,
            "account": account,
            "label": display.account_label(account),
            "form": form,
            "statement": result,
            "lines": lines,
            "opening": _money(result.opening, exponent) if result else "",
            "closing": _money(result.closing, exponent) if result else "",
            "total_debits": _money(result.total_debits, exponent) if result else "",
            "total_credits": _money(result.total_credits, exponent) if result else "",
            "period_query": f"start={start.isoformat()}&end={end.isoformat()}",
        },
    )


@login_required
def statement_file(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    form, start, end = _period(request)
    if not form.is_valid():
        messages.error(request, _("Choose the statement period first."))
        return redirect("ledger:statement", pk=pk)
    try:
        exported = services.statement_export(
            actor=request.user, account_ref=pk, start=start, end=end, fmt=fmt
        )
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        messages.error(request, error_text(exc))
        return redirect("ledger:statement", pk=pk)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response
