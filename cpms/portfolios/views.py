"""Console pages of portfolio trading: the list of portfolios with their market value, a
portfolio's positions and valuation with its trade history, and the book-a-trade form."""

from __future__ import annotations

import datetime
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.holdings.models import Holding
from cpms.ledger import engine
from cpms.portfolios import selectors, services
from cpms.portfolios.forms import TradeForm
from cpms.portfolios.models import TRADE_PERMISSION, VIEW_PERMISSION

TRADE_ROWS = 50


def _visible(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Holding:
    try:
        return selectors.portfolio_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def _date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text or "")
    except ValueError:
        return None


@login_required
def portfolio_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    q = (request.GET.get("q") or "").strip()[:60]
    rows, next_cursor, query = console_page(
        request, selectors.portfolio_list(user=request.user, q=q or None)
    )
    valuations = selectors.portfolio_valuations(rows)
    return render(
        request,
        "portfolios/list.html",
        {
            "section": "portfolios",
            "rows": [(holding, valuations[holding.pk]) for holding in rows],
            "next_cursor": next_cursor,
            "query": query.urlencode(),
            "q": q,
        },
    )


def _trade_form(request: HttpRequest, holding: Holding, data: dict | None = None) -> TradeForm:
    initial = {
        "side": request.GET.get("side") or "buy",
        "instrument_code": (request.GET.get("instrument") or "")[:20],
        "currency": holding.currency,
        "trade_date": engine.today(),
        "idempotency_key": f"console:{uuid.uuid4().hex}",
    }
    return TradeForm(data, initial=initial)


@login_required
def portfolio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    holding = _visible(request, pk)
    as_of = _date(request.GET.get("as_of"))
    valuation = selectors.portfolio_valuation(user=request.user, holding=holding, as_of=as_of)
    trades = selectors.trade_list(user=request.user, holding=holding)[:TRADE_ROWS]
    can_trade = user_has_permission(request.user, TRADE_PERMISSION)
    return render(
        request,
        "portfolios/detail.html",
        {
            "section": "portfolios",
            "holding": holding,
            "valuation": valuation,
            "trades": list(trades),
            "can_trade": can_trade,
            "form": _trade_form(request, holding) if can_trade else None,
        },
    )


@login_required
def trade_book(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, TRADE_PERMISSION)
    holding = _visible(request, pk, TRADE_PERMISSION)
    form = _trade_form(request, holding, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.trade_book(
                actor=request.user, holding=holding, data=form.trade_data()
            )
        except CpmsError as exc:
            form_errors(form, exc, aliases={"fee_minor": "fee"})
        else:
            if outcome.replayed:
                messages.info(request, _("This trade was booked already."))
            else:
                messages.success(request, _("Trade booked."))
            return redirect("portfolios:detail", pk=holding.pk)
    return render(
        request,
        "portfolios/trade.html",
        {"section": "portfolios", "holding": holding, "form": form, "title": _("Book a trade")},
    )
