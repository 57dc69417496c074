"""Every write of the document store. Each function checks the actor's permission and the
owner customer's scope, validates, writes and records its audit entry in one transaction.

Files are streamed to Django's default storage under generated names (never the user's) while
their SHA-256 is computed; the type is decided from the content (`documents.content`). A file
is stored before the transaction that records it and removed again if that transaction fails,
so a refusal leaves nothing behind. Versions are only ever added."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.documents import content
from cpms.documents.choices import (
    RETENTION_RULES,
    Classification,
    IntegrityStatus,
    RetentionBasis,
    RetentionClass,
)
from cpms.documents.errors import IntegrityFailed, LinkExists, LinkMissing
from cpms.documents.models import (
    MANAGE_PERMISSION,
    VIEW_PERMISSION,
    Document,
    DocumentLink,
    DocumentVersion,
    add_years,
)
from cpms.holdings.models import Holding

OBJECT_TYPE = "documents.document"
VERIFY_BATCH = 200
TITLE_MAX = 200


# --- helpers ------------------------------------------------------------------------------


def retain_until(
    retention_class: str, *, created: datetime.datetime, customer: Customer
) -> datetime.date | None:
    """The stored retention date: upload date plus the class's years, or for classes counted
    from the end of the relationship, its end (the customer closed) plus the years; None while
    the relationship lasts."""
    years, basis = RETENTION_RULES[retention_class]
    if basis == RetentionBasis.UPLOADED:
        return add_years(timezone.localtime(created).date(), years)
    if customer.status == "closed" and customer.status_changed_at is not None:
        return add_years(timezone.localtime(customer.status_changed_at).date(), years)
    return None


def _check_fields(
    *, title: str | None, classification: str | None, retention_class: str | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if title is not None:
        if not title.strip():
            errors["title"] = _("Give the document a title.")
        elif len(title.strip()) > TITLE_MAX:
            errors["title"] = _("At most %(max)d characters.") % {"max": TITLE_MAX}
    if classification is not None and classification not in Classification.values:
        errors["classification"] = _("Choose one of: %(values)s.") % {
            "values": ", ".join(Classification.values)
        }
    if retention_class is not None and retention_class not in RetentionClass.values:
        errors["retention_class"] = _("Choose one of: %(values)s.") % {
            "values": ", ".join(RetentionClass.values)
        }
    return errors


def _customer(actor: Any, customer: Customer | int) -> Customer:
    pk = customer.pk if isinstance(customer, Customer) else customer
    return get_for_user(Customer.objects.all(), user=actor, pk=pk, permission=MANAGE_PERMISSION)


def _holding_for(actor: Any, holding: Holding | int, customer_id: int) -> Holding:
    """The holding if the actor sees it and it belongs to the document's customer."""
    pk = holding.pk if isinstance(holding, Holding) else holding
    found = (
        scoped(Holding.objects.all(), user=actor, permission="holdings.view").filter(pk=pk).first()
    )
    if found is None:
        raise ValidationFailed(fields={"holding_id": _("No such property item in your scope.")})
    if found.customer_id != customer_id:
        raise ValidationFailed(
            fields={"holding_id": _("The property item belongs to another customer.")}
        )
    return found


def _locked(actor: Any, document: Document | int, permission: str = MANAGE_PERMISSION) -> Document:
    pk = document.pk if isinstance(document, Document) else document
    return get_for_user(
        Document.objects.select_for_update(), user=actor, pk=pk, permission=permission
    )


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    original_name: str
    size: int
    sha256: str
    kind: content.Kind


def _store(file: Any, original_name: str | None) -> StoredFile:
    """Check `file` by its content and stream it to storage under a generated name, hashing it
    on the way. Raises a FileRefused error (and leaves nothing stored) when it is refused."""
    limit = settings.CPMS_UPLOAD_MAX_BYTES
    name = content.clean_name(original_name or getattr(file, "name", "") or "")
    declared = getattr(file, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise content.too_large(limit)
    file.seek(0)
    head = file.read(content.HEAD_BYTES)
    file.seek(0)
    kind = content.sniff(head)
    if kind == content.DOCX:  # any zip archive: open it to see what it is
        kind = content.check_office(file)
    content.check_name(name, kind)
    today = timezone.now()
    storage_name = f"documents/{today:%Y/%m}/{uuid.uuid4().hex}.{kind.extension}"
    reader = content.HashingReader(file, name=storage_name, limit=limit, text=kind.is_text)
    try:
        saved = default_storage.save(storage_name, reader)
    except BaseException:
        _discard(storage_name)
        raise
    if reader.bytes_read == 0:
        _discard(saved)
        raise content.FileTypeRefused(_("The file is empty."))
    return StoredFile(saved, name, reader.bytes_read, reader.sha256, kind)


def _discard(storage_name: str) -> None:
    """Remove a file stored for a write that did not happen: the name is a fresh one that only
    the failed call used, so no recorded version points at it."""
    with contextlib.suppress(OSError):
        default_storage.delete(storage_name)


def _version_facts(version: DocumentVersion) -> dict[str, Any]:
    return {
        "version": version.number,
        "sha256": version.sha256,
        "size": version.size,
        "content_type": version.content_type,
        "original_name": version.original_name,
    }


def _document_facts(document: Document) -> dict[str, Any]:
    return {
        "title": document.title,
        "customer_id": document.customer_id,
        "classification": document.classification,
        "retention_class": document.retention_class,
        "retain_until": document.retain_until.isoformat() if document.retain_until else None,
    }


# --- documents ----------------------------------------------------------------------------


def document_upload(
    *,
    actor: Any,
    customer: Customer | int,
    file: IO[bytes] | Any,
    title: str,
    classification: str,
    retention_class: str,
    holding: Holding | int | None = None,
    original_name: str | None = None,
) -> Document:
    """Create a document of `customer` with `file` as its first version (and link it to
    `holding`, a property item of the same customer, when given)."""
    require_permission(actor, MANAGE_PERMISSION)
    title = (title or "").strip()
    errors = _check_fields(
        title=title, classification=classification, retention_class=retention_class
    )
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    owner = _customer(actor, customer)
    if holding is not None:
        _holding_for(actor, holding, owner.pk)
    stored = _store(file, original_name)
    try:
        return _record_upload(actor, owner, stored, title, classification, retention_class, holding)
    except BaseException:
        _discard(stored.storage_name)
        raise


def _record_upload(
    actor: Any,
    owner: Customer,
    stored: StoredFile,
    title: str,
    classification: str,
    retention_class: str,
    holding: Holding | int | None,
) -> Document:
    now = timezone.now()
    with transaction.atomic():
        owner = _customer(actor, owner)
        document = Document.objects.create(
            title=title,
            customer=owner,
            classification=classification,
            retention_class=retention_class,
            retain_until=retain_until(retention_class, created=now, customer=owner),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        version = DocumentVersion.objects.create(
            document=document,
            number=1,
            storage_name=stored.storage_name,
            original_name=stored.original_name,
            size=stored.size,
            content_type=stored.kind.content_type,
            sha256=stored.sha256,
            uploaded_by=actor,
            uploaded_at=now,
            last_verified_at=now,
            integrity_status=IntegrityStatus.OK,
        )
        document.current_version = version
        document.save(update_fields=["current_version"])
        audit_record(
            actor=actor,
            action=AuditAction.DOCUMENT_UPLOADED,
            object_type=OBJECT_TYPE,
            object_id=document.pk,
            after={**_document_facts(document), **_version_facts(version)},
            pii_fields=("original_name",),
        )
        if holding is not None:
            _link(actor, document, _holding_for(actor, holding, owner.pk), now=now)
    return document


def document_version_add(
    *, actor: Any, document: Document | int, file: IO[bytes] | Any, original_name: str | None = None
) -> DocumentVersion:
    """Add a new version of a document; it becomes the current one. Earlier versions stay."""
    require_permission(actor, MANAGE_PERMISSION)
    pk = document.pk if isinstance(document, Document) else document
    get_for_user(Document.objects.all(), user=actor, pk=pk, permission=MANAGE_PERMISSION)
    stored = _store(file, original_name)
    try:
        with transaction.atomic():
            document = _locked(actor, pk)
            previous = document.current_version
            number = (document.versions.aggregate(top=Max("number"))["top"] or 0) + 1
            now = timezone.now()
            version = DocumentVersion.objects.create(
                document=document,
                number=number,
                storage_name=stored.storage_name,
                original_name=stored.original_name,
                size=stored.size,
                content_type=stored.kind.content_type,
                sha256=stored.sha256,
                uploaded_by=actor,
                uploaded_at=now,
                last_verified_at=now,
                integrity_status=IntegrityStatus.OK,
            )
            document.current_version = version
            document.updated_at = now
            document.save(update_fields=["current_version", "updated_at"])
            audit_record(
                actor=actor,
                action=AuditAction.DOCUMENT_VERSION_ADDED,
                object_type=OBJECT_TYPE,
                object_id=document.pk,
                before=_version_facts(previous) if previous is not None else None,
                after=_version_facts(version),
                pii_fields=("original_name",),
            )
    except BaseException:
        _discard(stored.storage_name)
        raise
    return version


def document_update(
    *,
    actor: Any,
    document: Document | int,
    title: str | None = None,
    classification: str | None = None,
    retention_class: str | None = None,
    reason: str = "",
) -> Document:
    """Change the title, classification or retention class (None keeps a value). A new
    retention class recomputes the retention date from the upload date."""
    require_permission(actor, MANAGE_PERMISSION)
    if title is not None:
        title = title.strip()
    errors = _check_fields(
        title=title, classification=classification, retention_class=retention_class
    )
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    with transaction.atomic():
        document = _locked(actor, document)
        before = _document_facts(document)
        if title is not None:
            document.title = title
        if classification is not None:
            document.classification = classification
        if retention_class is not None and retention_class != document.retention_class:
            document.retention_class = retention_class
            document.retain_until = retain_until(
                retention_class, created=document.created_at, customer=document.customer
            )
        after = _document_facts(document)
        changed = [name for name in after if after[name] != before[name]]
        if not changed:
            return document
        document.updated_at = timezone.now()
        document.save(
            update_fields=[
                "title",
                "classification",
                "retention_class",
                "retain_until",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.DOCUMENT_UPDATED,
            object_type=OBJECT_TYPE,
            object_id=document.pk,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
            reason=(reason or "").strip(),
        )
    return document


# --- links to property --------------------------------------------------------------------


def _link(
    actor: Any, document: Document, holding: Holding, *, now: datetime.datetime
) -> DocumentLink:
    if DocumentLink.objects.filter(document=document, holding=holding).exists():
        raise LinkExists(fields={"holding_id": _("Already linked.")})
    link = DocumentLink.objects.create(
        document=document, holding=holding, linked_by=actor, linked_at=now
    )
    audit_record(
        actor=actor,
        action=AuditAction.DOCUMENT_LINKED,
        object_type=OBJECT_TYPE,
        object_id=document.pk,
        after={"holding_id": holding.pk, "holding_number": holding.holding_number},
    )
    return link


def document_link(*, actor: Any, document: Document | int, holding: Holding | int) -> DocumentLink:
    """Link a document to a property item of the same customer."""
    require_permission(actor, MANAGE_PERMISSION)
    with transaction.atomic():
        document = _locked(actor, document)
        found = _holding_for(actor, holding, document.customer_id)
        return _link(actor, document, found, now=timezone.now())


def document_unlink(*, actor: Any, document: Document | int, holding: Holding | int) -> None:
    """Remove the link between a document and a property item (the audit trail keeps it)."""
    require_permission(actor, MANAGE_PERMISSION)
    holding_id = holding.pk if isinstance(holding, Holding) else holding
    with transaction.atomic():
        document = _locked(actor, document)
        link = (
            DocumentLink.objects.select_for_update()
            .filter(document=document, holding_id=holding_id)
            .select_related("holding")
            .first()
        )
        if link is None:
            raise LinkMissing(fields={"holding_id": _("Not linked.")})
        facts = {
            "holding_id": holding_id,
            "holding_number": link.holding.holding_number,
            "linked_at": link.linked_at.isoformat(),
            "linked_by_id": link.linked_by_id,
        }
        link.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DOCUMENT_UNLINKED,
            object_type=OBJECT_TYPE,
            object_id=document.pk,
            before=facts,
        )


# --- downloads and integrity --------------------------------------------------------------


def _rehash(version: DocumentVersion) -> tuple[str, str]:
    """(integrity status, SHA-256 found) of the stored file."""
    try:
        with default_storage.open(version.storage_name, "rb") as handle:
            found, _size = content.hash_file(handle)
    except (FileNotFoundError, OSError):
        return IntegrityStatus.MISSING, ""
    return (IntegrityStatus.OK if found == version.sha256 else IntegrityStatus.CORRUPTED), found


def _record_failure(
    actor: Any, version: DocumentVersion, status: str, found: str, *, now: datetime.datetime
) -> None:
    """Mark a version as failed and audit it; runs inside the caller's transaction."""
    before = version.integrity_status
    DocumentVersion.objects.filter(pk=version.pk).update(
        integrity_status=status, last_verified_at=now
    )
    version.integrity_status = status
    version.last_verified_at = now
    audit_record(
        actor=actor,
        action=AuditAction.DOCUMENT_INTEGRITY_FAILED,
        object_type=OBJECT_TYPE,
        object_id=version.document_id,
        before={"version": version.number, "integrity_status": before},
        after={
            "version": version.number,
            "integrity_status": status,
            "storage_name": version.storage_name,
            "expected_sha256": version.sha256,
            "found_sha256": found,
        },
    )


@dataclass
class Download:
    version: DocumentVersion
    handle: IO[bytes]
    filename: str


def document_download(
    *, actor: Any, document: Document | int, version_number: int | None = None
) -> Download:
    """Open a version (the current one by default) for download: the stored bytes are re-hashed
    first, a mismatch is recorded (DOCUMENT_INTEGRITY_FAILED) and refused, and the download is
    audited before the caller streams the returned handle (which it must close)."""
    require_permission(actor, VIEW_PERMISSION)
    pk = document.pk if isinstance(document, Document) else document
    document = get_for_user(
        Document.objects.select_related("current_version"),
        user=actor,
        pk=pk,
        permission=VIEW_PERMISSION,
    )
    if version_number is None:
        version = document.current_version
    else:
        version = document.versions.filter(number=version_number).first()
    if version is None:
        raise NotFound(_("No such version of this document."))
    try:
        handle = default_storage.open(version.storage_name, "rb")
    except (FileNotFoundError, OSError):
        handle, status, found = None, IntegrityStatus.MISSING, ""
    else:
        found, _size = content.hash_file(handle)
        status = IntegrityStatus.OK if found == version.sha256 else IntegrityStatus.CORRUPTED
    if status != IntegrityStatus.OK:
        if handle is not None:
            handle.close()
        with transaction.atomic():
            _record_failure(actor, version, status, found, now=timezone.now())
        raise IntegrityFailed()
    handle.seek(0)
    try:
        with transaction.atomic():
            if version.integrity_status != IntegrityStatus.OK:  # restored since the last check
                DocumentVersion.objects.filter(pk=version.pk).update(
                    integrity_status=IntegrityStatus.OK, last_verified_at=timezone.now()
                )
            audit_record(
                actor=actor,
                action=AuditAction.DOCUMENT_DOWNLOADED,
                object_type=OBJECT_TYPE,
                object_id=document.pk,
                after={"version": version.number, "sha256": version.sha256},
            )
    except BaseException:
        handle.close()
        raise
    kind = content.BY_CONTENT_TYPE.get(version.content_type, content.TEXT)
    filename = content.download_name(version.original_name, kind, document.title)
    return Download(version, handle, filename)


@dataclass
class VerifyResult:
    checked: int = 0
    intact: int = 0
    failures: list[tuple[int, int, str]] = field(default_factory=list)  # (document, version, st.)

    @property
    def ok(self) -> bool:
        return not self.failures


def document_verify_all(*, actor: Any = None) -> VerifyResult:
    """Re-hash every stored version (in the actor's scope; all of them for the daily job, which
    acts as the system with `actor=None`), record when and with what result, audit each failure
    and one summary entry for the run."""
    if actor is not None:
        require_permission(actor, VIEW_PERMISSION)
        versions = scoped(DocumentVersion.objects.all(), user=actor, permission=VIEW_PERMISSION)
    else:
        versions = DocumentVersion.objects.all()
    result = VerifyResult()
    last = 0
    while True:
        batch = list(versions.filter(pk__gt=last).order_by("pk")[:VERIFY_BATCH])
        if not batch:
            break
        last = batch[-1].pk
        _verify_batch(actor, batch, result)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DOCUMENT_VERIFIED,
            object_type=OBJECT_TYPE,
            after={
                "checked": result.checked,
                "intact": result.intact,
                "failed": len(result.failures),
                "failed_versions": [
                    f"{document}:v{number}" for document, number, _s in result.failures[:100]
                ],
            },
        )
    return result


def _verify_batch(actor: Any, batch: Iterable[DocumentVersion], result: VerifyResult) -> None:
    outcomes = [(version, *_rehash(version)) for version in batch]  # files read outside
    now = timezone.now()
    with transaction.atomic():
        intact = [version.pk for version, status, _f in outcomes if status == IntegrityStatus.OK]
        DocumentVersion.objects.filter(pk__in=intact).update(
            integrity_status=IntegrityStatus.OK, last_verified_at=now
        )
        for version, status, found in outcomes:
            result.checked += 1
            if status == IntegrityStatus.OK:
                result.intact += 1
                continue
            _record_failure(actor, version, status, found, now=now)
            result.failures.append((version.document_id, version.number, status))
