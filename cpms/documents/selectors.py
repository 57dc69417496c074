"""Scoped reads of the document store. Every function takes the acting user first."""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import QuerySet

from cpms.access.checks import user_has_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.core.errors import NotFound
from cpms.customers.models import Customer
from cpms.documents.models import (
    MANAGE_PERMISSION,
    VIEW_PERMISSION,
    Document,
    DocumentLink,
    DocumentVersion,
)
from cpms.holdings.models import Holding

TAB_LIMIT = 50


def document_list(
    *,
    user: Any,
    q: str | None = None,
    classification: str | None = None,
    customer: int | None = None,
    retention_class: str | None = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[Document]:
    """Documents the user may see; `q` searches the title."""
    documents = scoped(Document.objects.all(), user=user, permission=permission)
    q = unicodedata.normalize("NFKC", q or "").strip()
    if q:
        documents = documents.filter(title__icontains=q)
    if classification:
        documents = documents.filter(classification=classification)
    if customer:
        documents = documents.filter(customer_id=customer)
    if retention_class:
        documents = documents.filter(retention_class=retention_class)
    return documents.select_related("customer", "current_version")


def document_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Document:
    """One document; NotFound when it is missing or outside the user's scope."""
    return get_for_user(
        Document.objects.select_related("customer", "current_version", "created_by"),
        user=user,
        pk=pk,
        permission=permission,
    )


def version_list(*, user: Any, document: Document) -> QuerySet[DocumentVersion]:
    """The version history of a document, newest first."""
    document_get_for_user(user=user, pk=document.pk)
    return document.versions.select_related("uploaded_by").order_by("-number")


def link_list(*, user: Any, document: Document) -> QuerySet[DocumentLink]:
    """Property items a document is linked to."""
    document_get_for_user(user=user, pk=document.pk)
    return document.links.select_related("holding", "linked_by").order_by("pk")


def link_get(*, user: Any, document: Document, holding_id: int) -> DocumentLink:
    link = link_list(user=user, document=document).filter(holding_id=holding_id).first()
    if link is None:
        raise NotFound()
    return link


def linkable_holdings(*, user: Any, document: Document) -> QuerySet[Any]:
    """Property items of the document's customer the user sees and that are not linked yet."""

    if not user_has_permission(user, "holdings.view"):
        return Holding.objects.none()
    return (
        scoped(Holding.objects.all(), user=user, permission="holdings.view")
        .filter(customer_id=document.customer_id)
        .exclude(document_links__document=document)
        .order_by("holding_number")
    )


def customer_tab_context(request: Any, customer: Any) -> dict[str, Any]:
    """The "Documents" tab of the customer page: that customer's newest documents."""
    documents = document_list(user=request.user, customer=customer.pk).order_by("-pk")
    return {
        "documents": list(documents[:TAB_LIMIT]),
        "documents_more": documents.count() > TAB_LIMIT,
        "can_upload_documents": user_has_permission(request.user, MANAGE_PERMISSION),
    }


def customer_for_upload(*, user: Any, pk: int | None = None, number: str | None = None) -> Any:
    """A customer the user may attach documents to, by id or customer number (None if none)."""

    customers = scoped(Customer.objects.all(), user=user, permission=MANAGE_PERMISSION)
    if pk is not None:
        return customers.filter(pk=pk).first()
    return customers.filter(customer_number__iexact=(number or "").strip()).first()
