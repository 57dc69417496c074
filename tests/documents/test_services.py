"""Services of the document store: uploads checked by content, versions, updates, links,
audited downloads and integrity verification."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.audit.services import pii_digest
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.customers.services import customer_status_change
from cpms.documents import services
from cpms.documents.errors import (
    FileMislabelled,
    FileTooLarge,
    FileTypeRefused,
    IntegrityFailed,
    LinkExists,
)
from cpms.documents.models import Document, DocumentLink, DocumentVersion
from tests.documents.conftest import (
    CSV,
    ELF,
    HTML,
    PDF,
    PNG,
    TEXT,
    docx,
    stored_files,
    upload,
    xlsx,
)


def _state() -> tuple:
    return (
        Document.objects.count(),
        DocumentVersion.objects.count(),
        DocumentLink.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


def _upload(actor, customer, data=PDF, name="scan.pdf", **kwargs):
    values = {
        "title": "Passport copy",
        "classification": "restricted",
        "retention_class": "kyc",
    }
    values.update(kwargs)
    return services.document_upload(
        actor=actor, customer=customer, file=upload(data, name), **values
    )


def test_document_upload__stores_first_version_and_audits(rm1, customer, media, audit_log):
    document = _upload(rm1, customer, name="护照.pdf")

    version = document.current_version
    assert (version.number, version.size, version.content_type) == (1, len(PDF), "application/pdf")
    assert version.sha256 == hashlib.sha256(PDF).hexdigest()
    assert version.original_name == "护照.pdf"
    assert version.uploaded_by == rm1
    assert version.integrity_status == "ok"
    assert version.last_verified_at == version.uploaded_at
    assert version.storage_name.startswith("documents/") and version.storage_name.endswith(".pdf")
    assert "护照" not in version.storage_name
    assert (media / version.storage_name).read_bytes() == PDF
    assert document.retain_until is None  # KYC: 5 years after the relationship ends
    [entry] = audit_log.new()
    assert entry.action == "document.uploaded"
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "documents.document",
        str(document.pk),
        rm1.pk,
    )
    assert entry.after == {
        "title": "Passport copy",
        "customer_id": customer.pk,
        "classification": "restricted",
        "retention_class": "kyc",
        "retain_until": None,
        "version": 1,
        "sha256": version.sha256,
        "size": len(PDF),
        "content_type": "application/pdf",
        "original_name": pii_digest("护照.pdf"),
    }


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (PDF, "renamed.exe", "application/pdf"),
        (PNG, "photo", "image/png"),
        (TEXT, "note.txt", "text/plain"),
        (CSV, "data.csv", "text/csv"),
        (
            docx(),
            "contract.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (xlsx(), "sheet.bin", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_document_upload__type_comes_from_the_content(rm1, customer, data, name, content_type):
    document = _upload(rm1, customer, data=data, name=name)

    assert document.current_version.content_type == content_type


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (HTML, "invoice.pdf", FileTypeRefused),
        (ELF, "invoice.pdf", FileTypeRefused),
        (TEXT, "scan.pdf", FileMislabelled),
        (b"a,b\n" * 3000 + b"\xc3\x28 not utf-8\n", "big.csv", FileTypeRefused),
        (b"", "empty.pdf", FileTypeRefused),
    ],
)
def test_document_upload__refused_files_leave_nothing(rm1, customer, media, data, name, error):
    before = _state()

    with pytest.raises(error) as caught:
        _upload(rm1, customer, data=data, name=name)

    assert list(caught.value.fields) == ["file"]
    assert _state() == before
    assert stored_files(media) == []


def test_document_upload__oversize_refused(rm1, customer, media, settings):
    settings.CPMS_UPLOAD_MAX_BYTES = 1024 * 1024
    before = _state()

    with pytest.raises(FileTooLarge) as caught:
        _upload(rm1, customer, data=PDF + b"0" * (1024 * 1024))

    assert caught.value.message == "The file is larger than the limit of 1 MiB."
    assert _state() == before
    assert stored_files(media) == []


def test_document_upload__field_errors_checked_before_storing(rm1, customer, media):
    before = _state()

    with pytest.raises(ValidationFailed) as caught:
        _upload(rm1, customer, title=" ", classification="secret", retention_class="forever")

    assert sorted(caught.value.fields) == ["classification", "retention_class", "title"]
    assert _state() == before
    assert stored_files(media) == []


def test_document_upload__permission_and_scope(rm2, finance, customer, media):
    before = _state()

    with pytest.raises(PermissionDenied):
        _upload(finance, customer)
    with pytest.raises(NotFound):
        _upload(rm2, customer)

    assert _state() == before
    assert stored_files(media) == []


def test_document_upload__with_holding_links_it(rm1, customer, holding, audit_log):
    document = _upload(rm1, customer, holding=holding)

    assert list(document.holdings.all()) == [holding]
    assert audit_log.actions() == ["document.uploaded", "document.linked"]


def test_document_upload__holding_of_another_customer_refused(rm1, customer, other_holding):
    before = _state()

    with pytest.raises(ValidationFailed) as caught:
        _upload(rm1, customer, holding=other_holding)

    assert caught.value.fields == {"holding_id": "The property item belongs to another customer."}
    assert _state() == before


def test_retention__fixed_classes_count_from_upload(rm1, customer):
    document = _upload(rm1, customer, retention_class="contract")

    assert document.retain_until == timezone.localdate().replace(
        year=timezone.localdate().year + 10
    )


def test_retention__kyc_counts_from_the_end_of_the_relationship(rm1, customer):
    document = _upload(rm1, customer)
    customer_status_change(actor=rm1, customer=customer, status="closed", reason="left")

    document = Document.objects.select_related("customer").get(pk=document.pk)

    closed = timezone.localtime(document.customer.status_changed_at).date()
    assert document.retention_ends_on == closed.replace(year=closed.year + 5)


def test_document_version_add__chains_versions(rm1, document, media, audit_log):
    first = document.current_version

    version = services.document_version_add(
        actor=rm1, document=document, file=upload(PNG, "v2.png")
    )

    document.refresh_from_db()
    assert document.current_version == version
    assert version.number == 2
    assert list(document.versions.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert (media / first.storage_name).read_bytes() == PDF  # nothing is deleted
    [entry] = audit_log.new()
    assert entry.action == "document.version_added"
    assert entry.before["version"] == 1 and entry.before["sha256"] == first.sha256
    assert entry.after["version"] == 2 and entry.after["content_type"] == "image/png"


def test_document_version_add__refused_file_changes_nothing(rm1, document, media):
    before = (_state(), stored_files(media))

    with pytest.raises(FileTypeRefused):
        services.document_version_add(actor=rm1, document=document, file=upload(HTML, "x.txt"))

    assert (_state(), stored_files(media)) == before


def test_document_update__records_changed_fields(rm1, document, audit_log):
    services.document_update(
        actor=rm1,
        document=document,
        title="Custody agreement 2026",
        classification="confidential",
        retention_class="temporary",
        reason="re-filed",
    )

    document.refresh_from_db()
    [entry] = audit_log.new()
    assert entry.action == "document.updated"
    assert entry.reason == "re-filed"
    assert entry.before == {
        "title": "Custody agreement",
        "retention_class": "contract",
        "retain_until": (
            timezone.localdate().replace(year=timezone.localdate().year + 10)
        ).isoformat(),
    }
    assert entry.after == {
        "title": "Custody agreement 2026",
        "retention_class": "temporary",
        "retain_until": document.retain_until.isoformat(),
    }
    assert document.retain_until == timezone.localdate().replace(year=timezone.localdate().year + 1)


def test_document_update__no_change_no_entry(rm1, document, audit_log):
    services.document_update(actor=rm1, document=document, title="Custody agreement")

    assert audit_log.new() == []


def test_document_update__out_of_scope_is_not_found(rm2, document):
    with pytest.raises(NotFound):
        services.document_update(actor=rm2, document=document, title="x")

    document.refresh_from_db()
    assert document.title == "Custody agreement"


def test_document_link_and_unlink(rm1, document, holding, audit_log):
    services.document_link(actor=rm1, document=document, holding=holding)
    with pytest.raises(LinkExists):
        services.document_link(actor=rm1, document=document, holding=holding)
    services.document_unlink(actor=rm1, document=document, holding=holding)

    assert DocumentLink.objects.count() == 0
    entries = audit_log.new()
    assert [entry.action for entry in entries] == ["document.linked", "document.unlinked"]
    assert entries[0].after == {"holding_id": holding.pk, "holding_number": "H00000001"}
    assert entries[1].before["holding_id"] == holding.pk
    assert entries[1].before["linked_by_id"] == rm1.pk


def test_document_download__audited(rm1, document, audit_log):
    download = services.document_download(actor=rm1, document=document)

    with download.handle:
        assert download.handle.read() == PDF
    assert download.filename == "合同.pdf"
    [entry] = audit_log.new()
    assert (entry.action, entry.object_id, entry.actor_id) == (
        "document.downloaded",
        str(document.pk),
        rm1.pk,
    )
    assert entry.after == {"version": 1, "sha256": document.current_version.sha256}


def test_document_download__out_of_scope_is_not_found(rm2, far_finance, document, audit_log):
    for user in (rm2, far_finance):
        with pytest.raises(NotFound):
            services.document_download(actor=user, document=document)

    assert audit_log.new() == []


def test_document_download__tampered_file_refused_and_recorded(rm1, document, media, audit_log):
    version = document.current_version
    (media / version.storage_name).write_bytes(PDF.replace(b"Catalog", b"Katalog"))

    with pytest.raises(IntegrityFailed):
        services.document_download(actor=rm1, document=document)

    version.refresh_from_db()
    assert version.integrity_status == "corrupted"
    [entry] = audit_log.new()
    assert entry.action == "document.integrity_failed"
    assert entry.after["expected_sha256"] == version.sha256
    assert (
        entry.after["found_sha256"]
        == hashlib.sha256(PDF.replace(b"Catalog", b"Katalog")).hexdigest()
    )


def test_document_download__restored_file_is_served_again(rm1, document, media):
    version = document.current_version
    path = media / version.storage_name
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityFailed):
        services.document_download(actor=rm1, document=document)
    path.write_bytes(PDF)

    download = services.document_download(actor=rm1, document=document)

    download.handle.close()
    version.refresh_from_db()
    assert version.integrity_status == "ok"


def test_document_verify_all__records_every_version(rm1, customer, document, media, audit_log):
    missing = _upload(rm1, customer, data=TEXT, name="n.txt").current_version
    second = services.document_version_add(actor=rm1, document=document, file=upload(PNG, "p"))
    (media / second.storage_name).write_bytes(b"\x89PNG tampered")
    default_storage.delete(missing.storage_name)
    audit_log.mark()
    start = timezone.now()

    result = services.document_verify_all(actor=None)

    assert (result.checked, result.intact) == (3, 1)
    assert sorted(result.failures) == sorted(
        [(document.pk, 2, "corrupted"), (missing.document_id, 1, "missing")]
    )
    statuses = dict(DocumentVersion.objects.values_list("pk", "integrity_status"))
    assert statuses == {
        document.versions.get(number=1).pk: "ok",
        second.pk: "corrupted",
        missing.pk: "missing",
    }
    assert all(
        verified >= start
        for verified in DocumentVersion.objects.values_list("last_verified_at", flat=True)
    )
    entries = audit_log.new()
    assert [entry.action for entry in entries] == [
        "document.integrity_failed",
        "document.integrity_failed",
        "document.verified",
    ]
    assert entries[-1].after == {
        "checked": 3,
        "intact": 1,
        "failed": 2,
        "failed_versions": [f"{missing.document_id}:v1", f"{document.pk}:v2"],
    }


def test_document_verify_all__scoped_to_the_actor(rm1, rm2, document, audit_log):
    result = services.document_verify_all(actor=rm2)

    assert (result.checked, result.failures) == (0, [])
    assert audit_log.actions() == ["document.verified"]


def test_document_verify_all__job_runs_it(document, audit_log):
    from cpms.documents.tasks import document_verify

    document_verify.call_local()

    [entry] = audit_log.new()
    assert entry.action == "document.verified"
    assert entry.channel == "job"
    assert entry.after["checked"] == 1


def test_retain_until__leap_day():
    assert services.add_years(datetime.date(2024, 2, 29), 1) == datetime.date(2025, 2, 28)
