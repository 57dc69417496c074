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
from cpms.ledger import selectors, services, statements
from cpms.ledger.assets import format_minor
from cpms.ledger.choices import HoldState, TransferKind
from cpms.ledger.forms import (
    AccountFilterForm,
    PeriodCloseForm,
    ReasonForm,
    StatementForm,
    TransferFilterForm,
    TransferForm,
    parse_amount,
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
    exponent = account.asset.exponent
    return {
        "account": account,
        "posted": _money(balance.posted, exponent),
        "available": _money(balance.available, exponent),
        "pending_debits": _money(balance.debits_pending, exponent),
        "pending_credits": _money(balance.credits_pending, exponent),
        "held": balance.debits_pending or balance.credits_pending,
    }


def _transfer_rows(transfers: list[Transfer]) -> list[dict[str, Any]]:
    states = selectors.hold_states(transfers)
    return [
        {
            "transfer": transfer,
            "amount": _money(transfer.amount, transfer.asset.exponent),
            "state": states.get(transfer.pk),
            "state_label": HoldState(states[transfer.pk]).label if transfer.pk in states else "",
        }
        for transfer in transfers
    ]


# ------------------------------------------------------------------------ accounts


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    form = AccountFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    query = selectors.account_list(request.user, filters=filters)
    rows, next_cursor, params = console_page(request, query, ordering=("pk",))
    balances = selectors.balances_for(rows)
    return render(
        request,
        "ledger/accounts.html",
        {
            "section": SECTION,
            "form": form,
            "rows": [_balance_row(account, balances[account.pk]) for account in rows],
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
            "recent": _transfer_rows(recent),
            "holds": _transfer_rows(holds),
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
    form = TransferFilterForm(request.GET or None)
    filters: dict[str, Any] = dict(form.cleaned_data) if form.is_valid() else {}
    ref = filters.pop("account", "") or ""
    query = selectors.transfer_list(request.user, filters=filters)
    if ref:
        try:
            account = selectors.account_get_for_user(user=request.user, ref=ref.strip())
        except NotFound:
            form.add_error("account", _("No account %(ref)s.") % {"ref": ref})
            query = query.none()
        else:
            query = selectors.transfer_list(
                request.user, filters={**filters, "account_id": account.pk}
            )
    rows, next_cursor, params = console_page(request, query, ordering=("-pk",))
    return render(
        request,
        "ledger/transfers.html",
        {
            "section": SECTION,
            "form": form,
            "rows": _transfer_rows(rows),
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
    return render(
        request,
        "ledger/transfer_detail.html",
        {
            "section": SECTION,
            "transfer": transfer,
            "amount": _money(transfer.amount, transfer.asset.exponent),
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
    initial = {
        "debit_account": (request.GET.get("debit") or "")[:64],
        "credit_account": (request.GET.get("credit") or "")[:64],
        "idempotency_key": TransferForm.new_key(),
    }
    form = TransferForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            debit = selectors.account_get_for_user(
                user=request.user, ref=data["debit_account"], permission=POST_PERMISSION
            )
        except NotFound:
            form.add_error(
                "debit_account", _("No account %(ref)s.") % {"ref": data["debit_account"]}
            )
            debit = None
        amount = None
        if debit is not None:
            try:
                amount = parse_amount(data["amount"], debit.asset.exponent)
            except ValueError:
                form.add_error(
                    "amount",
                    _("Give a positive amount with at most %(digits)d decimals.")
                    % {"digits": debit.asset.exponent},
                )
        if amount is not None:
            try:
                outcome = services.transfer_post(
                    actor=request.user,
                    data={
                        "debit_account": data["debit_account"].strip(),
                        "credit_account": data["credit_account"].strip(),
                        "amount_minor": amount,
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
            "amount": _money(transfer.amount, transfer.asset.exponent),
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
            "awaiting": _transfer_rows(awaiting),
            "rows": _transfer_rows(rows),
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
    return render(
        request,
        "ledger/trial_balance.html",
        {
            "section": SECTION,
            "rows": [
                {
                    "row": row,
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
