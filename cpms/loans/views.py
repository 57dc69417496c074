"""Console pages of loan servicing: the loan list (outstanding, days past due, bucket), the
loan detail (schedule against actual, repayments, and the actions: disburse, accrue, repay,
early repay) and the overdue report."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.console import require_staff
from cpms.core.console import error_text
from cpms.core.errors import CpmsError, NotFound, ValidationFailed
from cpms.core.money import AmountError, parse_major
from cpms.ledger import engine
from cpms.ledger import selectors as ledger_selectors
from cpms.loans import selectors, services
from cpms.loans.choices import Bucket, PaidFrom
from cpms.loans.models import POST_PERMISSION, VIEW_PERMISSION

PAGE_SIZE = 50


def _date(text: str | None, default: datetime.date | None = None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        return default


def _loan_or_404(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Any:
    try:
        return selectors.loan_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def parse_amount(text: str, currency: str, field: str = "amount") -> int:
    """ "1,030.58" -> 103058 (minor units of `currency`); refuses more decimals than it has."""
    try:
        return parse_major(text, currency)
    except AmountError as error:
        raise ValidationFailed(fields={field: error.message}) from None


@login_required
def loan_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    as_of = _date(request.GET.get("as_of"), engine.today())
    bucket = request.GET.get("bucket") or ""
    rows = selectors.loan_list(
        request.user, as_of=as_of, bucket=bucket if bucket in Bucket.values else None
    )
    return render(
        request,
        "loans/list.html",
        {
            "section": "loans",
            "rows": rows[: PAGE_SIZE * 10],
            "total": len(rows),
            "as_of": as_of,
            "bucket": bucket,
            "buckets": Bucket.choices,
        },
    )


@login_required
def overdue_report(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    as_of = _date(request.GET.get("as_of"), engine.today())
    rows = selectors.loan_list(request.user, as_of=as_of, overdue_only=True)
    return render(
        request,
        "loans/overdue.html",
        {
            "section": "loans",
            "rows": rows,
            "summary": selectors.overdue_summary(rows),
            "as_of": as_of,
        },
    )


@login_required
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    holding = _loan_or_404(request, pk)
    as_of = _date(request.GET.get("as_of"), engine.today())
    position = selectors.loan_position(holding, as_of)
    servicing = selectors._servicing(holding)
    return render(
        request,
        "loans/detail.html",
        {
            "section": "loans",
            "holding": holding,
            "terms": holding.loan,
            "servicing": servicing,
            "position": position,
            "as_of": as_of,
            "today": engine.today(),
            "currency": servicing.currency if servicing else holding.loan.currency,
            "repayments": list(selectors.repayment_list(servicing)) if servicing else [],
            "can_post": ledger_selectors.can_post(request.user),
            "sources": PaidFrom.choices,
            "fee_bps": services.early_repayment_fee_bps(),
        },
    )


def _act(request: HttpRequest, pk: int, action: Any, success: str) -> HttpResponse:
    require_staff(request, POST_PERMISSION)
    holding = _loan_or_404(request, pk, POST_PERMISSION)
    try:
        action(holding)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, success)
    return redirect("loans:detail", pk=holding.pk)


def _source(request: HttpRequest, name: str = "source") -> str:
    value = request.POST.get(name) or PaidFrom.CUSTOMER_CASH
    return value if value in PaidFrom.values else PaidFrom.CUSTOMER_CASH


@login_required
@require_POST
def loan_disburse(request: HttpRequest, pk: int) -> HttpResponse:
    value_date = _date(request.POST.get("value_date"), engine.today())
    return _act(
        request,
        pk,
        lambda h: services.loan_disburse(
            actor=request.user, holding=h, value_date=value_date, to=_source(request, "to")
        ),
        _("Loan disbursed."),
    )


@login_required
@require_POST
def loan_accrue(request: HttpRequest, pk: int) -> HttpResponse:
    as_of = _date(request.POST.get("as_of"), engine.today())
    return _act(
        request,
        pk,
        lambda h: services.loan_accrue(actor=request.user, holding=h, as_of=as_of),
        _("Interest accrued."),
    )


@login_required
@require_POST
def loan_repay(request: HttpRequest, pk: int) -> HttpResponse:
    value_date = _date(request.POST.get("value_date"), engine.today())

    def repay(holding: Any) -> Any:
        currency = holding.servicing.currency if hasattr(holding, "servicing") else "CNY"
        return services.loan_repay(
            actor=request.user,
            holding=holding,
            amount_minor=parse_amount(request.POST.get("amount", ""), currency),
            value_date=value_date,
            source=_source(request),
            prepay=request.POST.get("prepay") == "on",
        )

    return _act(request, pk, repay, _("Repayment recorded."))


@login_required
@require_POST
def loan_repay_early(request: HttpRequest, pk: int) -> HttpResponse:
    value_date = _date(request.POST.get("value_date"), engine.today())
    return _act(
        request,
        pk,
        lambda h: services.loan_repay_early(
            actor=request.user, holding=h, value_date=value_date, source=_source(request)
        ),
        _("Loan repaid early."),
    )
