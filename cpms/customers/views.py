"""Console pages of the customer registry: list with search, detail with tabs, forms."""

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
from cpms.core.pagination import keyset_page
from cpms.customers import selectors, services
from cpms.customers.choices import CustomerKind, CustomerStatus
from cpms.customers.errors import DuplicateIdentity, PossibleDuplicate
from cpms.customers.forms import (
    ConsentForm,
    ConsentWithdrawForm,
    CustomerForm,
    CustomFieldDefinitionForm,
    KycRequestForm,
    StatusForm,
)
from cpms.customers.models import (
    CONFIGURE_PERMISSION,
    MANAGE_PERMISSION,
    VIEW_PERMISSION,
    Customer,
    CustomFieldDefinition,
)
from cpms.customers.tabs import tabs_for
from cpms.users.models import Branch

PAGE_SIZE = 25
TABS = ("profile", "consents", "history")


def _visible(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Customer:
    try:
        return selectors.customer_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def customer_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    q = (request.GET.get("q") or "").strip()[:100]
    status = request.GET.get("status") or ""
    kind = request.GET.get("kind") or ""
    branch = request.GET.get("branch") or ""
    customers = selectors.customer_list(
        user=request.user,
        q=q,
        status=status if status in CustomerStatus.values else None,
        kind=kind if kind in CustomerKind.values else None,
        branch=int(branch) if branch.isdigit() else None,
    )
    try:
        rows, next_cursor = keyset_page(
            customers, limit=PAGE_SIZE, cursor=request.GET.get("cursor") or None, ordering=("-pk",)
        )
    except CpmsError as exc:
        raise Http404 from exc
    total = customers.count()
    first = customers.filter(pk__gt=rows[0].pk).count() + 1 if rows else 0
    masked = selectors.customer_masked(rows)
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "customers/list.html",
        {
            "section": "customers",
            "rows": list(zip(rows, masked, strict=True)),
            "next_cursor": next_cursor,
            "total": total,
            "first": first,
            "last": first + len(rows) - 1 if rows else 0,
            "first_page_query": query.urlencode() if request.GET.get("cursor") else "",
            "query": query.urlencode(),
            "q": q,
            "status": status,
            "kind": kind,
            "branch": branch,
            "statuses": CustomerStatus.choices,
            "kinds": CustomerKind.choices,
            "branches": Branch.objects.filter(is_active=True).order_by("code"),
            "can_manage": user_has_permission(request.user, MANAGE_PERMISSION),
        },
    )


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    customer = _visible(request, pk)
    tab = request.GET.get("tab") or "profile"
    extra_tabs = {extra.key: extra for extra in tabs_for(request.user)}
    if tab not in TABS and tab not in extra_tabs:
        raise Http404
    labels = {"profile": _("Profile"), "consents": _("Consents"), "history": _("History")}
    context: dict[str, Any] = {
        "section": "customers",
        "customer": customer,
        "tab": tab,
        "tabs": [
            (TABS[0], labels[TABS[0]]),
            *((extra.key, extra.label) for extra in extra_tabs.values()),
            *((name, labels[name]) for name in TABS[1:]),
        ],
        "can_manage": user_has_permission(request.user, MANAGE_PERMISSION),
    }
    if tab in extra_tabs:
        context["extra_tab"] = extra_tabs[tab]
        context.update(extra_tabs[tab].context(request, customer))
    elif tab == "consents":
        context["consents"] = selectors.consent_list(user=request.user, customer=customer)
        context["consent_form"] = ConsentForm()
        context["withdraw_form"] = ConsentWithdrawForm()
    elif tab == "history":
        entries, next_cursor = keyset_page(
            selectors.customer_history(user=request.user, customer=customer),
            limit=PAGE_SIZE,
            cursor=request.GET.get("cursor") or None,
            ordering=("-pk",),
        )
        context["entries"] = entries
        context["next_cursor"] = next_cursor
    else:
        context["status_form"] = StatusForm()
        context["custom_values"] = selectors.customer_custom_values(
            user=request.user, customer=customer
        )
        context["kyc_request"] = services.kyc_pending_request(customer)
        context["kyc_form"] = KycRequestForm()
        context["duplicate"] = selectors.duplicate_confirmation(
            user=request.user, customer=customer
        )
        context["warnings"] = selectors.data_warnings(customer)
    return render(request, "customers/detail.html", context)


def _form_options(request: HttpRequest, customer: Customer | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "user": request.user,
        "kyc_needs_approval": services.kyc_verification_needs_approval(),
    }
    if customer is not None:
        options.update(
            current_manager=customer.relationship_manager_id,
            current_segment=customer.segment,
            current_kyc=customer.kyc_status,
        )
    return options


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    initial = {"branch_id": request.user.branch_id}
    if user_has_permission(request.user, MANAGE_PERMISSION):
        initial["relationship_manager_id"] = request.user.pk
    form = CustomerForm(
        request.POST or None,
        initial=initial,
        definitions=selectors.custom_field_list(user=request.user, active=True),
        **_form_options(request),
    )
    duplicate: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_register(actor=request.user, data=form.data_for_service())
        except DuplicateIdentity as exc:
            form.add_error("identity_number", exc.message)
            duplicate = {"existing": exc.existing}
        except PossibleDuplicate as exc:
            form.possible_duplicate = True
            form.add_error(None, exc.message)
            duplicate = {"candidates": exc.candidates, "elsewhere": exc.elsewhere}
        except CpmsError as exc:
            if "duplicate_reason" in exc.fields:
                form.possible_duplicate = True
            form_errors(form, exc)
        else:
            messages.success(request, _("Customer registered."))
            for warning in customer.data_warnings:
                messages.warning(request, warning["message"])
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "section": "customers",
            "form": form,
            "title": _("Register a customer"),
            "duplicate": duplicate,
        },
    )


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    customer = _visible(request, pk, MANAGE_PERMISSION)
    initial = {
        name: getattr(customer, name)
        for name in (
            "legal_name",
            "identity_kind",
            "identity_country",
            "date_of_birth",
            "relationship_manager_id",
            "kyc_status",
            "kyc_reviewed_at",
            "risk_rating",
            "segment",
        )
    }
    initial["branch_id"] = customer.branch_id
    initial["tags"] = ", ".join(customer.tags)
    form = CustomerForm(
        request.POST or None,
        initial=initial,
        editing=True,
        kind=customer.kind,
        definitions=selectors.custom_field_list(user=request.user, kind=customer.kind, active=True),
        stored=customer.custom_fields,
        **_form_options(request, customer),
    )
    duplicate: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                actor=request.user, customer=customer, data=form.data_for_service()
            )
        except DuplicateIdentity as exc:
            form.add_error("identity_number", exc.message)
            duplicate = {"existing": exc.existing}
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Customer updated."))
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {
            "section": "customers",
            "form": form,
            "customer": customer,
            "title": _("Edit customer %(number)s") % {"number": customer.customer_number},
            "duplicate": duplicate,
        },
    )


@login_required
@require_POST
def customer_status(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    customer = _visible(request, pk, MANAGE_PERMISSION)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status and give a reason."))
    else:
        try:
            services.customer_status_change(
                actor=request.user,
                customer=customer,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Status changed."))
    return redirect("customers:detail", pk=pk)


@login_required
@require_POST
def kyc_request(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask a second person to confirm the customer's KYC as verified (maker-checker)."""
    require_staff(request, MANAGE_PERMISSION)
    customer = _visible(request, pk, MANAGE_PERMISSION)
    form = KycRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Use at most 500 characters."))
        return redirect("customers:detail", pk=pk)
    try:
        outcome = services.kyc_verify_request(
            actor=request.user, customer=customer, reason=form.cleaned_data["reason"]
        )
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        if isinstance(outcome, Customer):
            messages.success(request, _("KYC marked as verified."))
        else:
            messages.success(
                request,
                _("KYC verification requested: it waits for a second person to approve it."),
            )
    return redirect("customers:detail", pk=pk)


@login_required
@require_POST
def consent_grant(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    customer = _visible(request, pk, MANAGE_PERMISSION)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a purpose and a channel."))
    else:
        try:
            services.consent_grant(actor=request.user, customer=customer, **form.cleaned_data)
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Consent recorded."))
    return redirect(f"{redirect('customers:detail', pk=pk).url}?tab=consents")


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int, consent_id: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    customer = _visible(request, pk, MANAGE_PERMISSION)
    try:
        consent = selectors.consent_get_for_user(
            user=request.user, customer=customer, pk=consent_id
        )
    except NotFound as exc:
        raise Http404 from exc
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the channel of the withdrawal."))
    else:
        try:
            services.consent_withdraw(actor=request.user, consent=consent, **form.cleaned_data)
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Consent withdrawn."))
    return redirect(f"{redirect('customers:detail', pk=pk).url}?tab=consents")


# --- custom field definitions -------------------------------------------------------------


@login_required
def custom_field_list(request: HttpRequest) -> HttpResponse:
    """The custom fields of both kinds of customer, and the form to define one."""
    require_staff(request, CONFIGURE_PERMISSION)
    form = CustomFieldDefinitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            definition = services.custom_field_define(
                actor=request.user, data=form.data_for_service()
            )
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            messages.success(
                request, _("Custom field “%(label)s” defined.") % {"label": definition.label}
            )
            return redirect("customers:fields")
    definitions = selectors.custom_field_list(user=request.user)
    return render(
        request,
        "customers/fields.html",
        {
            "section": "customers",
            "groups": [
                (label, [item for item in definitions if item.customer_kind == kind])
                for kind, label in CustomerKind.choices
            ],
            "form": form,
        },
    )


@login_required
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, CONFIGURE_PERMISSION)
    try:
        definition: CustomFieldDefinition = selectors.custom_field_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    initial = {
        "label": definition.label,
        "help_text": definition.help_text,
        "choices": "\n".join(definition.choices),
        "required": definition.required,
        "active": definition.active,
        "order": definition.order,
    }
    form = CustomFieldDefinitionForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_update(
                actor=request.user, definition=definition, data=form.data_for_service()
            )
        except CpmsError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Custom field updated."))
            return redirect("customers:fields")
    return render(
        request,
        "customers/field_form.html",
        {"section": "customers", "form": form, "definition": definition},
    )
