"""API of the document store, mounted at /api/v1/documents/ by cpms.config.api. Uploads are
multipart/form-data; downloads stream the file as an attachment with the detected type."""

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field as NinjaField
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.errors import ValidationFailed
from cpms.core.pagination import CursorPagination
from cpms.documents import selectors, services
from cpms.documents.choices import Classification, RetentionClass
from cpms.documents.models import MANAGE_PERMISSION, VIEW_PERMISSION, Document
from cpms.documents.schemas import (
    DocumentDetailOut,
    DocumentOut,
    DocumentPatch,
    LinkIn,
    LinkOut,
    UploadIn,
    VersionOut,
)

router = Router(tags=["documents"])


class DocumentFilters(Schema):
    q: str | None = NinjaField(None, description="Part of the title.")
    classification: Classification | None = None
    retention_class: RetentionClass | None = None
    customer_id: int | None = None


def _file_required(file: UploadedFile | None) -> UploadedFile:
    if file is None:
        raise ValidationFailed(fields={"file": _("Attach the file as the multipart field “file”.")})
    return file


def _detail(request: HttpRequest, document: Document) -> Document:
    """The document as the caller sees it now (its links are read by the schema)."""
    return selectors.document_get_for_user(user=request.auth, pk=document.pk)


def attachment(download: services.Download) -> HttpResponse:
    """The stored file as an attachment, typed as detected, never sniffed by the browser."""
    response = FileResponse(
        download.handle,
        as_attachment=True,
        filename=download.filename,
        content_type=download.version.content_type,
    )
    response["Content-Length"] = str(download.version.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("", response=list[DocumentOut], summary="List documents")
@paginate(CursorPagination, ordering=("-pk",))
def document_list(request: HttpRequest, filters: Query[DocumentFilters]) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return selectors.document_list(
        user=request.auth,
        q=filters.q,
        classification=filters.classification,
        retention_class=filters.retention_class,
        customer=filters.customer_id,
    )


@router.post("", response={201: DocumentDetailOut}, summary="Upload a document")
def document_upload(
    request: HttpRequest, data: Form[UploadIn], file: File[UploadedFile] = None
) -> Any:
    """multipart/form-data with `file` and the fields below. The type is decided from the
    content (PDF, PNG, JPEG, TIFF, DOCX, XLSX, UTF-8 text/CSV), never from the name."""
    require_permission(request.auth, MANAGE_PERMISSION)
    errors = {}
    if data.customer_id is None:
        errors["customer_id"] = _("Choose the customer.")
    if data.retention_class is None:
        errors["retention_class"] = _("Choose a retention class.")
    if errors:
        raise ValidationFailed(fields=errors)
    document = services.document_upload(
        actor=request.auth,
        customer=data.customer_id,
        file=_file_required(file),
        title=data.title or "",
        classification=data.classification,
        retention_class=data.retention_class,
        holding=data.holding_id,
        original_name=file.name,
    )
    return Status(201, _detail(request, document))


@router.get("/{document_id}", response=DocumentDetailOut, summary="One document")
def document_get(request: HttpRequest, document_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    return _detail(request, selectors.document_get_for_user(user=request.auth, pk=document_id))


@router.patch("/{document_id}", response=DocumentDetailOut, summary="Change a document")
def document_update(request: HttpRequest, document_id: int, data: DocumentPatch) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    document = selectors.document_get_for_user(
        user=request.auth, pk=document_id, permission=MANAGE_PERMISSION
    )
    document = services.document_update(
        actor=request.auth,
        document=document,
        title=data.title,
        classification=data.classification,
        retention_class=data.retention_class,
        reason=data.reason,
    )
    return _detail(request, document)


@router.get("/{document_id}/versions", response=list[VersionOut], summary="Version history")
def version_list(request: HttpRequest, document_id: int) -> Any:
    require_permission(request.auth, VIEW_PERMISSION)
    document = selectors.document_get_for_user(user=request.auth, pk=document_id)
    return list(selectors.version_list(user=request.auth, document=document))


@router.post(
    "/{document_id}/versions", response={201: VersionOut}, summary="Add a version (multipart)"
)
def version_add(request: HttpRequest, document_id: int, file: File[UploadedFile] = None) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    document = selectors.document_get_for_user(
        user=request.auth, pk=document_id, permission=MANAGE_PERMISSION
    )
    upload = _file_required(file)
    version = services.document_version_add(
        actor=request.auth, document=document, file=upload, original_name=upload.name
    )
    return Status(201, version)


@router.get("/{document_id}/download", summary="Download the current version")
def document_download(request: HttpRequest, document_id: int) -> HttpResponse:
    """The file as an attachment with its detected type. The stored bytes are re-hashed first:
    a corrupted file is refused (409 `documents.integrity_failed`) and recorded."""
    require_permission(request.auth, VIEW_PERMISSION)
    document = selectors.document_get_for_user(user=request.auth, pk=document_id)
    return attachment(services.document_download(actor=request.auth, document=document))


@router.get("/{document_id}/versions/{number}/download", summary="Download one version")
def version_download(request: HttpRequest, document_id: int, number: int) -> HttpResponse:
    require_permission(request.auth, VIEW_PERMISSION)
    document = selectors.document_get_for_user(user=request.auth, pk=document_id)
    return attachment(
        services.document_download(actor=request.auth, document=document, version_number=number)
    )


@router.post("/{document_id}/links", response={201: LinkOut}, summary="Link to property")
def document_link(request: HttpRequest, document_id: int, data: LinkIn) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    document = selectors.document_get_for_user(
        user=request.auth, pk=document_id, permission=MANAGE_PERMISSION
    )
    services.document_link(actor=request.auth, document=document, holding=data.holding_id)
    return Status(
        201, selectors.link_get(user=request.auth, document=document, holding_id=data.holding_id)
    )


@router.delete("/{document_id}/links/{holding_id}", response={204: None}, summary="Unlink")
def document_unlink(request: HttpRequest, document_id: int, holding_id: int) -> Any:
    require_permission(request.auth, MANAGE_PERMISSION)
    document = selectors.document_get_for_user(
        user=request.auth, pk=document_id, permission=MANAGE_PERMISSION
    )
    services.document_unlink(actor=request.auth, document=document, holding=holding_id)
    return Status(204, None)
