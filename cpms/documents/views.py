"""Console pages of the document store: list, upload, detail with versions and links,
downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core.console import console_page, error_text, form_errors
from cpms.core.errors import CpmsError, NotFound
from cpms.documents import selectors, services
from cpms.documents.api import attachment
from cpms.documents.choices import Classification
from cpms.documents.forms import DocumentEditForm, LinkForm, UploadForm, VersionForm
from cpms.documents.models import MANAGE_PERMISSION, VIEW_PERMISSION, Document

PAGE_SIZE = 25


def _visible(request: HttpRequest, pk: int, permission: str = VIEW_PERMISSION) -> Document:
    try:
        return selectors.document_get_for_user(user=request.user, pk=pk, permission=permission)
    except NotFound as exc:
        raise Http404 from exc


def _detail_url(pk: int) -> str:
    return reverse("documents:detail", kwargs={"pk": pk})


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    q = (request.GET.get("q") or "").strip()[:100]
    classification = request.GET.get("classification") or ""
    customer = (request.GET.get("customer") or "").strip()
    documents = selectors.document_list(
        user=request.user,
        q=q,
        classification=classification if classification in Classification.values else None,
        customer=int(customer) if customer.isdigit() else None,
    )
    rows, next_cursor, query = console_page(request, documents, limit=PAGE_SIZE)
    return render(
        request,
        "documents/list.html",
        {
            "section": "documents",
            "rows": rows,
            "next_cursor": next_cursor,
            "query": query.urlencode(),
            "q": q,
            "classification": classification,
            "customer": customer,
            "classifications": Classification.choices,
            "can_manage": user_has_permission(request.user, MANAGE_PERMISSION),
        },
    )


@login_required
def document_upload(request: HttpRequest) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    initial: dict[str, Any] = {}
    preset = request.GET.get("customer") or ""
    if preset.isdigit():
        found = selectors.customer_for_upload(user=request.user, pk=int(preset))
        if found is not None:
            initial["customer"] = found.customer_number
    form = UploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = selectors.customer_for_upload(user=request.user, number=data["customer"])
        if customer is None:
            form.add_error("customer", _("No customer with this number in your scope."))
        else:
            try:
                document = services.document_upload(
                    actor=request.user,
                    customer=customer,
                    file=data["file"],
                    title=data["title"],
                    classification=data["classification"],
                    retention_class=data["retention_class"],
                    original_name=data["file"].name,
                )
            except CpmsError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("Document uploaded."))
                return redirect("documents:detail", pk=document.pk)
    return render(
        request,
        "documents/upload.html",
        {"section": "documents", "form": form, "title": _("Upload a document")},
    )


@login_required
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    document = _visible(request, pk)
    can_manage = user_has_permission(request.user, MANAGE_PERMISSION) and (
        selectors.document_list(user=request.user, permission=MANAGE_PERMISSION)
        .filter(pk=pk)
        .exists()
    )
    context: dict[str, Any] = {
        "section": "documents",
        "document": document,
        "versions": selectors.version_list(user=request.user, document=document),
        "links": selectors.link_list(user=request.user, document=document),
        "can_manage": can_manage,
    }
    if can_manage:
        context["edit_form"] = DocumentEditForm(
            initial={
                "title": document.title,
                "classification": document.classification,
                "retention_class": document.retention_class,
            }
        )
        context["version_form"] = VersionForm()
        linkable = selectors.linkable_holdings(user=request.user, document=document)
        link_form = LinkForm()
        link_form.fields["holding"].widget.choices = [
            (holding.pk, str(holding)) for holding in linkable[:200]
        ]
        context["link_form"] = link_form if link_form.fields["holding"].widget.choices else None
    return render(request, "documents/detail.html", context)


@login_required
@require_POST
def document_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    document = _visible(request, pk, MANAGE_PERMISSION)
    form = DocumentEditForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a title, a classification and a retention class."))
    else:
        try:
            services.document_update(actor=request.user, document=document, **form.cleaned_data)
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Document updated."))
    return redirect(_detail_url(pk))


@login_required
@require_POST
def version_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    document = _visible(request, pk, MANAGE_PERMISSION)
    form = VersionForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the file of the new version."))
    else:
        upload = form.cleaned_data["file"]
        try:
            version = services.document_version_add(
                actor=request.user, document=document, file=upload, original_name=upload.name
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Version %(number)d added.") % {"number": version.number})
    return redirect(_detail_url(pk))


def _download(request: HttpRequest, pk: int, number: int | None) -> HttpResponse:
    require_staff(request, VIEW_PERMISSION)
    document = _visible(request, pk)
    try:
        download = services.document_download(
            actor=request.user, document=document, version_number=number
        )
    except NotFound as exc:
        raise Http404 from exc
    except CpmsError as exc:
        messages.error(request, error_text(exc))
        return redirect(_detail_url(pk))
    return attachment(download)


@login_required
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    return _download(request, pk, None)


@login_required
def version_download(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    return _download(request, pk, number)


@login_required
@require_POST
def document_link(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    document = _visible(request, pk, MANAGE_PERMISSION)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a property item."))
    else:
        try:
            services.document_link(
                actor=request.user, document=document, holding=form.cleaned_data["holding"]
            )
        except CpmsError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("Linked to the property item."))
    return redirect(_detail_url(pk))


@login_required
@require_POST
def document_unlink(request: HttpRequest, pk: int, holding_id: int) -> HttpResponse:
    require_staff(request, MANAGE_PERMISSION)
    document = _visible(request, pk, MANAGE_PERMISSION)
    try:
        services.document_unlink(actor=request.user, document=document, holding=holding_id)
    except CpmsError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Link removed."))
    return redirect(_detail_url(pk))
