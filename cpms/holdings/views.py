"""Console pages of the property register: list with filters and search, detail (details,
valuations, positions with market value, loan schedule), register, edit, revalue, status,
positions and the price import."""

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
from cpms.core.console import error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.customers.selectors import customer_list
from cpms.holdings import selectors, services
from cpms.holdings.choices import (
    DETAIL_KINDS,
    HOLDING_STATES,
    AssetClass,
    HoldingKind,
    HoldingStatus,
)
from cpms.holdings.forms import (
    DETAIL_FORMS,
    HoldingForm,
    PositionForm,
    PriceImportForm,
    RevalueForm,
    StatusForm,
    details_for_service,
    details_initial,
)
from cpms.holdings.models import MANAGE_PERMISSION, VIEW_PERMISSION, Holding
from cpms.holdings.paging import list_page

PAGE_SIZE = 25
SECTION = "holdings"


def _visible(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Holding:
    try:
        return selectors.holding_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def _form_problems(form: Any) -> str:
    """A refused inline form as one message: "Value: CNY has 2 decimal places…"."""
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
        for name, errors in form.errors.items()
    )


@login_required
def holding_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    q = (request.GET.get("q") or "").strip()[:100]
    kind = request.GET.get("kind") or ""
    status = request.GET.get("status") or ""
    customer = request.GET.get("customer") or ""
    holdings = selectors.holding_list(
        user=request.user,
        q=q,
        kind=kind if kind in HoldingKind.values else None,
        status=status if status in HoldingStatus.values else None,
        customer=int(customer) if customer.isdigit() else None,
    )
    page = list_page(request, holdings, limit=PAGE_SIZE)
    owner = None
    if customer.isdigit():
        owner = (
            customer_list(user=request.user, permission=VIEW_PERMISSION)
            .filter(pk=int(customer))
            .first()
        )
    return render(
        request,
        "holdings/list.html",
        {
            "section": SECTION,
            "page": page,
            "rows": page.rows,
            "owner": owner,
            "q": q,
            "kind": kind,
            "status": status,
            "customer": customer,
            "kinds": HoldingKind.choices,
            "statuses": HoldingStatus.choices,
            "can_manage": user_has_permission(request.user, MANAGE_PERMISSION),
        },
    )


@login_required
def holding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    holding = _visible(request, pk)
    can_manage = user_has_permission(request.user, MANAGE_PERMISSION)
    context: dict[str, Any] = {
        "section": SECTION,
        "holding": holding,
        "details": selectors.holding_details(user=request.user, holding=holding),
        "warnings": selectors.holding_warnings(user=request.user, holding=holding),
        "valuations": list(selectors.valuation_list(user=request.user, holding=holding)[:50]),
        "can_manage": can_manage,
        "is_open": holding.status not in services.CLOSED_STATUSES,
        "statuses": [
            (value, HoldingStatus(value).label) for value in HOLDING_STATES.targets(holding.status)
        ],
        "revalue_form": RevalueForm(
            initial={"currency": holding.currency}, currency=holding.currency
        ),
    }
    details = context["details"]
    if holding.kind in selectors.DETAIL_RELATIONS and details:
        model, names = selectors.DETAIL_RELATIONS[holding.kind]
        rows = []
        for name in names:
            field = model._meta.get_field(name)
            value = details[name]
            if field.choices:
                value = dict(field.choices).get(value, value)
            rows.append((field.verbose_name, value))
        context["detail_rows"] = rows
    if holding.kind == HoldingKind.ACCOUNT:
        context["account"] = selectors.account_detail(user=request.user, holding=holding)
    elif holding.kind == HoldingKind.PORTFOLIO:
        summary = selectors.portfolio_summary(user=request.user, holding=holding)
        context["summary"] = summary
        context["allocation"] = [
            (AssetClass(name).label, share) for name, share in summary.allocation.items()
        ]
        context["position_form"] = PositionForm()
    elif holding.kind == HoldingKind.LOAN:
        try:
            context["schedule"] = list(selectors.loan_schedule(user=request.user, holding=holding))
        except NotFound:
            context["schedule"] = []
    return render(request, "holdings/detail.html", context)


@login_required
def holding_create(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    if kind not in DETAIL_KINDS:
        return render(
            request,
            "holdings/choose_kind.html",
            {
                "section": SECTION,
                "kinds": [(value, HoldingKind(value).label) for value in DETAIL_KINDS],
                "customer": request.GET.get("customer", ""),
            },
        )
    initial: dict[str, Any] = {}
    customer_id = request.GET.get("customer") or ""
    if customer_id.isdigit():
        initial["customer"] = int(customer_id)
    form = HoldingForm(request.POST or None, initial=initial, user=request.user)
    detail_class = DETAIL_FORMS.get(kind)
    details_form = detail_class(request.POST or None, prefix="details") if detail_class else None
    forms_ok = form.is_valid() if request.method == "POST" else False
    details_ok = details_form.is_valid() if details_form is not None and forms_ok else forms_ok
    if request.method == "POST" and forms_ok and details_ok:
        data = form.data_for_service()
        owner = data.pop("customer")
        details = details_for_service(kind, details_form) if details_form is not None else {}
        try:
            holding = services.holding_register(
                actor=request.user, customer=owner, kind=kind, details=details, **data
            )
        except NotFound:
            form.add_error("customer", _("Not found: search again and pick one from the list."))
        except CpmsError as exc:
            form_errors(form, exc, nested={"details": details_form}, named=True)
        else:
            messages.success(request, _("Property registered."))
            for warning in selectors.holding_warnings(user=request.user, holding=holding):
                messages.warning(request, warning["message"])
            return redirect("holdings:detail", pk=holding.pk)
    return render(
        request,
        "holdings/form.html",
        {
            "section": SECTION,
            "form": form,
            "details_form": details_form,
            "kind": kind,
            "title": _("Register property: %(kind)s") % {"kind": HoldingKind(kind).label},
        },
    )


@login_required
def holding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    holding = _visible(request, pk, MANAGE_PERMISSION)
    initial = {"description": holding.description, "location": holding.location}
    form = HoldingForm(request.POST or None, initial=initial, editing=True)
    if holding.kind == HoldingKind.CUSTODY_ITEM:
        del form.fields["location"]
    detail_class = DETAIL_FORMS.get(holding.kind)
    details_form = None
    if detail_class is not None:
        stored = services.details_snapshot(holding)
        options = {"editing": True} if holding.kind == HoldingKind.ACCOUNT else {}
        details_form = detail_class(
            request.POST or None,
            prefix="details",
            initial=details_initial(holding.kind, stored),
            **options,
        )
    if request.method == "POST":
        forms_ok = form.is_valid() and (details_form is None or details_form.is_valid())
        if forms_ok:
            data = form.data_for_service()
            if details_form is not None:
                data["details"] = details_for_service(holding.kind, details_form, editing=True)
            try:
                services.holding_update(actor=request.user, holding=holding, data=data)
            except CpmsError as exc:
                form_errors(form, exc, nested={"details": details_form}, named=True)
            else:
                messages.success(request, _("Property updated."))
                return redirect("holdings:detail", pk=holding.pk)
    return render(
        request,
        "holdings/form.html",
        {
            "section": SECTION,
            "form": form,
            "details_form": details_form,
            "holding": holding,
            "kind": holding.kind,
            "title": _("Edit property %(number)s") % {"number": holding.holding_number},
        },
    )


@login_required
@require_POST
def holding_revalue(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    holding = _visible(request, pk, MANAGE_PERMISSION)
    form = RevalueForm(request.POST, currency=holding.currency)
    if not form.is_valid():
        messages.error(request, _form_problems(form))
    else:
        try:
            services.holding_revalue(
                actor=request.user,
                holding=holding,
                value_minor=form.cleaned_data["value"],
                currency=form.cleaned_data["currency"],
                valued_on=form.cleaned_data["valued_on"],
                source=form.cleaned_data["source"],
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Valuation recorded."))
    return redirect("holdings:detail", pk=pk)


@login_required
@require_POST
def holding_status(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    holding = _visible(request, pk, MANAGE_PERMISSION)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
    else:
        try:
            services.holding_status_change(
                actor=request.user,
                holding=holding,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Status changed."))
    return redirect("holdings:detail", pk=pk)


@login_required
@require_POST
def position_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    holding = _visible(request, pk, MANAGE_PERMISSION)
    form = PositionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("Check the position: code, asset class, quantity and cost.")
            + " "
            + _form_problems(form),
        )
    else:
        try:
            services.position_add(actor=request.user, holding=holding, data=form.data_for_service())
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Position added."))
    return redirect("holdings:detail", pk=pk)


@login_required
@require_POST
def position_remove(request: HttpRequest, pk: int, position_id: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    holding = _visible(request, pk, MANAGE_PERMISSION)
    try:
        position = selectors.position_get_for_user(
            user=request.user, holding=holding, pk=position_id, permission=MANAGE_PERMISSION
        )
    except NotFound as exc:
        raise Http404 from exc
    try:
        services.position_remove(actor=request.user, position=position)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Position removed."))
    return redirect("holdings:detail", pk=pk)


def _where(key: str) -> str:
    """Where a price file is wrong, in words: "row 3.price" -> "Row 3, column price"."""
    row, _dot, column = key.partition(".")
    if row.startswith("row ") and row[4:].isdigit() and column:
        return _("Row %(row)s, column %(column)s") % {"row": row[4:], "column": column}
    if row == "header":
        return _("Header row")
    if row == "file":
        return _("File")
    return key


@login_required
def prices_import(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    form = PriceImportForm(request.POST or None, request.FILES or None)
    report = None
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = services.prices_import(
                actor=request.user,
                content=upload.read(),
                source=form.cleaned_data["source"] or "import",
                filename=upload.name or "",
            )
        except CpmsError as exc:
            messages.error(request, exc.message)
            errors = [(_where(str(key)), str(value)) for key, value in exc.fields.items()]
        else:
            messages.success(request, _("Prices imported."))
    return render(
        request,
        "holdings/prices_import.html",
        {"section": SECTION, "form": form, "report": report, "errors": errors},
    )
