"""Console pages of loyalty points: members with balances, a customer's points (balance, tier,
lots, history, redeem and adjustment forms), the earn rules, and the customer detail tab."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.points import selectors, services
from cpms.points.choices import ADJUST_PERMISSION, REDEEM_PERMISSION, VIEW_PERMISSION
from cpms.points.forms import AdjustForm, RedeemForm, RuleForm
from cpms.points.models import PointsRule

TAB_ROWS = 10
# service field name (and its dotted parts: `tiers.0.code`) -> earn-rule form field
RULE_FIELDS = {"category_multipliers": "categories", "tiers": "tiers"}


def _customer(request: HttpRequest, customer_id: int, permission: str = VIEW_PERMISSION) -> Any:
    try:
        return selectors.customer_get(
            user=request.user, customer_id=customer_id, permission=permission
        )
    except NotFound as exc:
        raise Http404 from exc


@login_required
def member_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    query = (request.GET.get("q") or "").strip()[:60]
    members = selectors.member_list(user=request.user, query=query)
    rows, next_cursor, params = console_page(request, members, ordering=("-pk",))
    balances = selectors.member_balances(rows)
    return render(
        request,
        "points/list.html",
        {
            "section": "points",
            "rows": [(member, balances.get(member.customer_id, 0)) for member in rows],
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "q": query,
        },
    )


def _detail_context(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    _customer(request, customer_id)
    context = selectors.overview(user=request.user, customer_id=customer_id)
    context.update(
        {
            "section": "points",
            "history": selectors.history(context["customer"], limit=100),
            "shortfalls": list(selectors.shortfalls(context["customer"])[:20]),
            "can_redeem": user_has_permission(request.user, REDEEM_PERMISSION),
            "can_adjust": user_has_permission(request.user, ADJUST_PERMISSION),
        }
    )
    return context


@login_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    context = _detail_context(request, customer_id)
    context.setdefault("redeem_form", RedeemForm())
    context.setdefault("adjust_form", AdjustForm())
    return render(request, "points/customer.html", context)


@login_required
@require_POST
def redeem(request: HttpRequest, customer_id: int) -> HttpResponse:
    require_staff(request, REDEEM_PERMISSION)
    customer = _customer(request, customer_id, REDEEM_PERMISSION)
    form = RedeemForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.points_redeem(
                actor=request.user,
                customer=customer,
                points=form.cleaned_data["points"],
                reference=form.cleaned_data["reference"],
            )
        except CpmsError as exc:
            form_errors(form, exc, fallback=error_text(exc))
        else:
            messages.success(request, _("%(points)d points redeemed.") % {"points": outcome.points})
            return redirect("points:customer", customer_id=customer.pk)
    context = _detail_context(request, customer_id)
    context.update({"redeem_form": form, "adjust_form": AdjustForm()})
    return render(request, "points/customer.html", context, status=422)


@login_required
@require_POST
def adjust(request: HttpRequest, customer_id: int) -> HttpResponse:
    require_staff(request, ADJUST_PERMISSION)
    customer = _customer(request, customer_id, ADJUST_PERMISSION)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.points_adjust_request(
                actor=request.user,
                customer=customer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
            )
        except CpmsError as exc:
            form_errors(form, exc, fallback=error_text(exc))
        else:
            if outcome.executed:
                messages.success(request, _("Points adjusted."))
            else:
                messages.success(
                    request, _("Adjustment requested; it posts when a checker approves it.")
                )
            return redirect("points:customer", customer_id=customer.pk)
    context = _detail_context(request, customer_id)
    context.update({"redeem_form": RedeemForm(), "adjust_form": form})
    return render(request, "points/customer.html", context, status=422)


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    return render(
        request,
        "points/rules.html",
        {
            "section": "points",
            "rules": list(selectors.rule_list(user=request.user)),
            "can_edit": user_has_permission(request.user, ADJUST_PERMISSION),
        },
    )


@login_required
def rule_edit(request: HttpRequest, currency: str) -> HttpResponse:
    require_staff(request, ADJUST_PERMISSION)
    code = currency.upper()[:3]
    rule = PointsRule.objects.filter(currency=code).first()
    initial = RuleForm.initial_for(rule or PointsRule(currency=code, name=f"{code} points"))
    form = RuleForm(request.POST or None, initial=initial, currency=code)
    if request.method == "POST" and form.is_valid():
        try:
            services.points_rule_save(actor=request.user, currency=code, data=form.rule_data())
        except CpmsError as exc:
            form_errors(form, exc, aliases=RULE_FIELDS, named=True, fallback=error_text(exc))
        else:
            messages.success(request, _("Earn rule saved."))
            return redirect("points:rules")
    return render(
        request,
        "points/rule_form.html",
        {"section": "points", "form": form, "currency": code, "rule": rule},
    )


def customer_tab_context(request: HttpRequest, customer: Any) -> dict[str, Any]:
    """The "Points" tab of the customer detail page."""
    lots = selectors.lot_list(customer)
    return {
        "points_balance": selectors.balance(customer),
        "points_available": sum(row.remaining for row in lots if not row.expired),
        "points_tier": selectors.customer_tier(customer),
        "points_lots": [row for row in lots if row.remaining > 0][:TAB_ROWS],
        "points_history": selectors.history(customer, limit=TAB_ROWS),
    }
