"""Console pages of the custody lifecycle: items (list, detail with timeline and a form for
every step), intake, receipt PDF, photos, incidents and stocktakes. Reads need
`holdings.view`, every form `custody.operate`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.custody import forms, selectors, services
from cpms.custody.choices import (
    CustodyState,
    IncidentKind,
    IncidentStatus,
    allowed_events,
)
from cpms.custody.models import OPERATE_PERMISSION, VIEW_PERMISSION, CustodyItem
from cpms.custody.timeline import timeline
from cpms.holdings.paging import list_page
from cpms.notifications.selectors import notification_list_related

PAGE_SIZE = 25


def _get(fetch: Callable[..., Any], request: HttpRequest, pk: int, permission: str) -> Any:
    try:
        return fetch(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def _page(request: HttpRequest, rows: Any) -> Any:
    return list_page(request, rows, limit=PAGE_SIZE)


# --- items --------------------------------------------------------------------------------


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    state = request.GET.get("state") or ""
    location = (request.GET.get("location") or "").strip()[:120]
    overdue = request.GET.get("overdue") == "1"
    q = (request.GET.get("q") or "").strip()[:100]
    page = _page(
        request,
        selectors.item_list(
            user=request.user,
            state=state if state in CustodyState.values else None,
            location=location or None,
            overdue=overdue,
            q=q,
        ),
    )
    return render(
        request,
        "custody/list.html",
        {
            "section": "custody",
            "page": page,
            "rows": page.rows,
            "state": state,
            "location": location,
            "overdue": overdue,
            "q": q,
            "states": CustodyState.choices,
            "locations": selectors.locations(user=request.user),
            "today": timezone.localdate(),
            "can_operate": user_has_permission(request.user, OPERATE_PERMISSION),
        },
    )


@login_required
def item_receive(request: HttpRequest) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    initial: dict[str, Any] = {"currency": "CNY"}
    customer = request.GET.get("customer") or ""
    if customer.isdigit():
        initial["customer"] = int(customer)
    form = forms.ReceiveForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        values = form.data_for_service()
        try:
            item = services.item_receive(actor=request.user, **values)
        except NotFound:
            form.add_error("customer", _("Not found: search again and pick one from the list."))
        except CpmsError as exc:
            form_errors(form, exc, aliases={"value_minor": "value", "customer_id": "customer"})
        else:
            messages.success(request, _("Item received into custody."))
            return redirect("custody:detail", pk=item.pk)
    return render(request, "custody/receive.html", {"section": "custody", "form": form})


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    item = _get(selectors.item_get_for_user, request, pk, VIEW_PERMISSION)
    can_operate = user_has_permission(request.user, OPERATE_PERMISSION)
    return render(
        request,
        "custody/detail.html",
        {
            "section": "custody",
            "item": item,
            "timeline": timeline(selectors.item_timeline(user=request.user, item=item)),
            "photos": selectors.photo_list(user=request.user, item=item),
            "incidents": selectors.incident_list(user=request.user, item=item.pk).order_by("-pk"),
            "allowed": set(allowed_events(item.state)) if can_operate else set(),
            "can_operate": can_operate,
            "overdue": item.is_overdue(),
            # one form per step on one page: each its own element ids (labels stay right)
            "forms": {
                "put_away": forms.PutAwayForm(auto_id="id_put_away_%s"),
                "check_out": forms.CheckOutForm(auto_id="id_check_out_%s"),
                "check_in": forms.CheckInForm(
                    initial={"condition_grade": item.condition_grade}, auto_id="id_check_in_%s"
                ),
                "return": forms.ReturnForm(auto_id="id_return_%s"),
                "dispose": forms.DisposeForm(auto_id="id_dispose_%s"),
                "move": forms.MoveForm(user=request.user, auto_id="id_move_%s"),
                "found": forms.FoundForm(auto_id="id_found_%s"),
                "photo": forms.PhotoForm(auto_id="id_photo_%s"),
                "incident": forms.IncidentForm(auto_id="id_incident_%s"),
            },
        },
    )


def _transition(
    request: HttpRequest,
    pk: int,
    form_class: type,
    run: Callable[[CustodyItem, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    item = _get(selectors.item_get_for_user, request, pk, OPERATE_PERMISSION)
    options = {"user": request.user} if form_class is forms.MoveForm else {}
    form = form_class(request.POST, request.FILES, **options)
    if not form.is_valid():
        messages.error(
            request,
            "; ".join(
                f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errs)}"
                for name, errs in form.errors.items()
            ),
        )
    else:
        try:
            run(item, form.cleaned_data)
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, done)
    return redirect("custody:detail", pk=pk)


@login_required
@require_POST
def item_put_away(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.PutAwayForm,
        lambda item, data: services.item_put_away(actor=request.user, item=item, **data),
        _("Item put away."),
    )


@login_required
@require_POST
def item_check_out(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.CheckOutForm,
        lambda item, data: services.item_check_out(actor=request.user, item=item, **data),
        _("Item checked out."),
    )


@login_required
@require_POST
def item_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.CheckInForm,
        lambda item, data: services.item_check_in(actor=request.user, item=item, **data),
        _("Item back in custody."),
    )


@login_required
@require_POST
def item_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.ReturnForm,
        lambda item, data: services.item_return(actor=request.user, item=item, **data),
        _("Item returned to the customer."),
    )


@login_required
@require_POST
def item_dispose(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.DisposeForm,
        lambda item, data: services.item_dispose_request(actor=request.user, item=item, **data),
        _("Disposal submitted for approval."),
    )


@login_required
@require_POST
def item_move(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.MoveForm,
        lambda item, data: services.item_move(actor=request.user, item=item, **data),
        _("Item moved."),
    )


@login_required
@require_POST
def item_found(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.FoundForm,
        lambda item, data: services.item_found(actor=request.user, item=item, **data),
        _("Item recorded as found."),
    )


@login_required
@require_POST
def photo_upload(request: HttpRequest, pk: int) -> HttpResponse:
    def run(item: CustodyItem, data: dict[str, Any]) -> Any:
        upload = data["file"]
        return services.photo_add(
            actor=request.user,
            item=item,
            data=upload.read(),
            stage=data["stage"],
            original_name=upload.name or "",
            note=data["note"],
        )

    return _transition(request, pk, forms.PhotoForm, run, _("Photo added."))


@login_required
def photo_download(request: HttpRequest, pk: int, photo_id: int) -> FileResponse:
    require_staff(request, VIEW_PERMISSION)
    item = _get(selectors.item_get_for_user, request, pk, VIEW_PERMISSION)
    try:
        photo = selectors.photo_get_for_user(user=request.user, item=item, pk=photo_id)
    except NotFound as exc:
        raise Http404 from exc
    return FileResponse(selectors.photo_open(photo), content_type=photo.content_type)


@login_required
def item_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    item = _get(selectors.item_get_for_user, request, pk, OPERATE_PERMISSION)
    pdf = services.receipt_issue(actor=request.user, item=item)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="receipt-{item.holding.holding_number}.pdf"'
    )
    return response


@login_required
@require_POST
def incident_open(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        forms.IncidentForm,
        lambda item, data: services.incident_open(actor=request.user, item=item, **data),
        _("Incident opened; notify the customer before the deadline."),
    )


# --- incidents ----------------------------------------------------------------------------


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    status = request.GET.get("status") or ""
    kind = request.GET.get("kind") or ""
    late = request.GET.get("late") == "1"
    page = _page(
        request,
        selectors.incident_list(
            user=request.user,
            status=status if status in IncidentStatus.values else None,
            kind=kind if kind in IncidentKind.values else None,
            notification_overdue=late,
        ),
    )
    return render(
        request,
        "custody/incidents.html",
        {
            "section": "custody",
            "page": page,
            "rows": page.rows,
            "status": status,
            "kind": kind,
            "late": late,
            "statuses": IncidentStatus.choices,
            "kinds": IncidentKind.choices,
            "now": timezone.now(),
        },
    )


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    incident = _get(selectors.incident_get_for_user, request, pk, VIEW_PERMISSION)
    return render(
        request,
        "custody/incident.html",
        {
            "section": "custody",
            "incident": incident,
            "now": timezone.now(),
            "notifications": notification_list_related(
                user=request.user, related_type=services.INCIDENT_OBJECT, related_id=incident.pk
            ).order_by("-pk"),
            "can_operate": user_has_permission(request.user, OPERATE_PERMISSION),
            "response_form": forms.ResponseForm(),
            "close_form": forms.CloseForm(),
        },
    )


def _incident_step(
    request: HttpRequest, pk: int, form_class: type | None, run: Callable[..., Any], done: str
) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    incident = _get(selectors.incident_get_for_user, request, pk, OPERATE_PERMISSION)
    data: dict[str, Any] = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, _("Check the form: every field is required."))
            return redirect("custody:incident", pk=pk)
        data = form.cleaned_data
    try:
        run(incident, data)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)
    return redirect("custody:incident", pk=pk)


@login_required
@require_POST
def incident_notify(request: HttpRequest, pk: int) -> HttpResponse:
    return _incident_step(
        request,
        pk,
        None,
        lambda incident, data: services.incident_notify(actor=request.user, incident=incident),
        _("Customer notified."),
    )


@login_required
@require_POST
def incident_response(request: HttpRequest, pk: int) -> HttpResponse:
    return _incident_step(
        request,
        pk,
        forms.ResponseForm,
        lambda incident, data: services.incident_response_record(
            actor=request.user, incident=incident, **data
        ),
        _("Response recorded."),
    )


@login_required
@require_POST
def incident_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _incident_step(
        request,
        pk,
        forms.CloseForm,
        lambda incident, data: services.incident_close(
            actor=request.user, incident=incident, **data
        ),
        _("Incident closed."),
    )


# --- stocktakes ---------------------------------------------------------------------------


@login_required
def stocktake_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    page = _page(request, selectors.stocktake_list(user=request.user))
    return render(
        request,
        "custody/stocktakes.html",
        {
            "section": "custody",
            "page": page,
            "rows": page.rows,
            "form": forms.StocktakeForm(),
            "locations": selectors.locations(user=request.user),
            "can_operate": user_has_permission(request.user, OPERATE_PERMISSION),
        },
    )


@login_required
@require_POST
def stocktake_start(request: HttpRequest) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    form = forms.StocktakeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the location to count."))
        return redirect("custody:stocktakes")
    try:
        stocktake = services.stocktake_start(actor=request.user, **form.cleaned_data)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
        return redirect("custody:stocktakes")
    messages.success(request, _("Stocktake started."))
    return redirect("custody:stocktake", pk=stocktake.pk)


def _stocktake_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    stocktake = _get(selectors.stocktake_get_for_user, request, pk, VIEW_PERMISSION)
    return {
        "section": "custody",
        "stocktake": stocktake,
        "lines": selectors.stocktake_lines(user=request.user, stocktake=stocktake),
        "can_operate": user_has_permission(request.user, OPERATE_PERMISSION),
        "results": forms.CountForm.base_fields["result"].choices,
    }


@login_required
def stocktake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    return render(request, "custody/stocktake.html", _stocktake_context(request, pk))


@login_required
def stocktake_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable count sheet (the browser prints it; print CSS hides the navigation)."""
    require_staff(request, VIEW_PERMISSION)
    context = _stocktake_context(request, pk)
    context["printed_at"] = timezone.now()
    return render(request, "custody/sheet.html", context)


@login_required
@require_POST
def stocktake_count(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    stocktake = _get(selectors.stocktake_get_for_user, request, pk, OPERATE_PERMISSION)
    form = forms.CountForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Record the item as found or missing."))
    else:
        try:
            services.stocktake_count(
                actor=request.user,
                stocktake=stocktake,
                item=form.cleaned_data["item_id"],
                result=form.cleaned_data["result"],
                note=form.cleaned_data["note"],
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
    return redirect("custody:stocktake", pk=pk)


@login_required
@require_POST
def stocktake_close(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, OPERATE_PERMISSION)
    stocktake = _get(selectors.stocktake_get_for_user, request, pk, OPERATE_PERMISSION)
    try:
        services.stocktake_close(actor=request.user, stocktake=stocktake)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Stocktake closed; missing items opened incidents."))
    return redirect("custody:stocktake", pk=pk)
