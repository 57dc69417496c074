"""Console pages of retail records: purchase list with filters, detail, the record-purchase form,
the return/exchange form, and the "Purchases" tab of the customer detail page."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.core.pagination import keyset_page
from cpms.customers.selectors import customer_list
from cpms.retail import selectors, services
from cpms.retail.choices import Channel
from cpms.retail.forms import PurchaseForm, PurchaseLineFormSet, ReturnForm, purchase_data
from cpms.retail.models import MANAGE_PERMISSION, VIEW_PERMISSION, Purchase

PAGE_SIZE = 25
TAB_ROWS = 10
ORDERING = ("-purchased_at", "-pk")
# service field name -> form field name (of the purchase, return and line forms)
FORM_FIELDS = {
    "customer_id": "customer",
    "customer_number": "customer",
    "total_minor": "total",
    "refund_minor": "refund",
    "unit_amount_minor": "unit_price",
    "amount_minor": "amount",
}


def _visible(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Purchase:
    try:
        return selectors.purchase_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def _date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text or "")
    except ValueError:
        return None


@login_required
def purchase_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    customer = request.GET.get("customer") or ""
    store = (request.GET.get("store") or "").strip()[:20]
    channel = request.GET.get("channel") or ""
    date_from = _date(request.GET.get("date_from"))
    date_to = _date(request.GET.get("date_to"))
    purchases = selectors.purchase_list(
        user=request.user,
        customer=int(customer) if customer.isdigit() else None,
        store=store or None,
        channel=channel if channel in Channel.values else None,
        date_from=date_from,
        date_to=date_to,
    )
    try:
        rows, next_cursor = keyset_page(
            purchases, limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None, ordering=ORDERING
        )
    except CpmsError as exc:
        raise Http404 from exc
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "retail/list.html",
        {
            "section": "retail",
            "rows": rows,
            "next_cursor": next_cursor,
            "query": query.urlencode(),
            "customer": customer,
            "store": store,
            "channel": channel,
            "date_from": date_from.isoformat() if date_from else "",
            "date_to": date_to.isoformat() if date_to else "",
            "channels": Channel.choices,
            "can_manage": user_has_permission(request.user, MANAGE_PERMISSION),
        },
    )


@login_required
def purchase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    purchase = _visible(request, pk)
    returns = list(selectors.return_list(user=request.user, purchase=purchase))
    lines = selectors.purchase_lines(purchase=purchase)
    can_return = user_has_permission(request.user, MANAGE_PERMISSION) and any(
        line.returned_quantity < line.quantity for line in lines
    )
    return render(
        request,
        "retail/detail.html",
        {
            "section": "retail",
            "purchase": purchase,
            "lines": lines,
            "returns": returns,
            "refunded_minor": sum(record.refund_minor for record in returns),
            "can_return": can_return,
        },
    )


@login_required
def purchase_create(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    initial = {
        "purchased_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "channel": Channel.STORE,
        "currency": "CNY",
    }
    number = (request.GET.get("customer_number") or "")[:40]
    if number:  # "record a purchase" from a customer's page names the customer
        chosen = customer_list(user=request.user, permission=MANAGE_PERMISSION).filter(
            customer_number=number
        )
        initial["customer"] = chosen.values_list("pk", flat=True).first()
    form = PurchaseForm(request.POST or None, initial=initial, user=request.user)
    lines = PurchaseLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and all([form.is_valid(), lines.is_valid()]):
        data = purchase_data(form, lines)
        if data is not None:
            try:
                purchase = services.purchase_record(actor=request.user, data=data)
            except CpmsError as exc:
                filled = [line for line in lines if not line.is_blank()]
                nested = {f"lines.{index}": line for index, line in enumerate(filled)}
                form_errors(form, exc, aliases=FORM_FIELDS, nested=nested)
            else:
                messages.success(request, _("Purchase recorded."))
                return redirect("retail:detail", pk=purchase.pk)
    return render(
        request,
        "retail/form.html",
        {"section": "retail", "form": form, "lines": lines, "title": _("Record a purchase")},
    )


def _return_lines(data: dict[str, Any]) -> dict[str, str]:
    """A return refuses lines by position (`lines.0.quantity`); the form has one field per
    purchase line (`line_3`)."""
    return {
        f"lines.{index}": f"line_{line['line_number']}" for index, line in enumerate(data["lines"])
    }


@login_required
def purchase_return(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    purchase = _visible(request, pk, MANAGE_PERMISSION)
    lines = selectors.purchase_lines(purchase=purchase)
    form = ReturnForm(request.POST or None, lines=lines, currency=purchase.currency)
    if request.method == "POST" and form.is_valid():
        data = form.return_data()
        if data is not None:
            try:
                services.purchase_return(actor=request.user, purchase=purchase, data=data)
            except CpmsError as exc:
                form_errors(form, exc, aliases={**FORM_FIELDS, **_return_lines(data)})
            else:
                messages.success(request, _("Return recorded."))
                return redirect("retail:detail", pk=purchase.pk)
    return render(
        request,
        "retail/return_form.html",
        {
            "section": "retail",
            "form": form,
            "purchase": purchase,
            "title": _("Return or exchange for %(reference)s") % {"reference": purchase.reference},
        },
    )


def customer_tab_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    """The "Purchases" tab of the customer detail page: summary and latest purchases."""
    summary = selectors.customer_purchase_summary(user=request.user, customer=customer)
    recent = selectors.purchase_list(user=request.user, customer=customer.pk).order_by(*ORDERING)
    return {
        "purchase_summary": summary,
        "recent_purchases": list(recent[:TAB_ROWS]),
        "can_record_purchase": user_has_permission(request.user, MANAGE_PERMISSION),
    }
