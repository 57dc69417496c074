"""API and console of the document store: uploads, versions, changes, links, audited
downloads with safe headers, scope and error shapes."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client
from django.urls import reverse

from cpms.audit.models import AuditEntry
from cpms.documents.models import Document, DocumentLink, DocumentVersion
from cpms.users.choices import Role
from tests.documents.conftest import HTML, PDF, PNG, TEXT, stored_files, upload


def _api(user, token_for, scope="documents:write") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes=[scope])}")


def _state() -> tuple:
    return (
        Document.objects.count(),
        DocumentVersion.objects.count(),
        DocumentLink.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


def test_api_upload__multipart_creates_document(rm1, token_for, customer, holding):
    response = _api(rm1, token_for).post(
        "/api/v1/documents/",
        {
            "customer_id": customer.pk,
            "title": "Signed agreement",
            "classification": "confidential",
            "retention_class": "contract",
            "holding_id": holding.pk,
            "file": upload(PDF, "agreement.exe"),
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    document = Document.objects.get()
    assert body["id"] == document.pk
    assert body["classification"] == "confidential"
    assert body["current_version"]["number"] == 1
    assert body["current_version"]["content_type"] == "application/pdf"
    assert body["current_version"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["links"][0]["holding_id"] == holding.pk
    assert body["links"][0]["holding_number"] == "H00000001"
    assert body["retain_until"] == document.retain_until.isoformat()


def test_api_upload__refused_file_is_a_field_error(rm1, token_for, customer, media):
    client = _api(rm1, token_for)
    before = _state()

    response = client.post(
        "/api/v1/documents/",
        {
            "customer_id": customer.pk,
            "title": "Invoice",
            "retention_class": "contract",
            "file": upload(HTML, "invoice.pdf"),
        },
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "documents.file_type_refused"
    assert list(error["fields"]) == ["file"]
    assert _state() == before
    assert stored_files(media) == []


def test_api_upload__missing_fields_named(rm1, token_for):
    response = _api(rm1, token_for).post("/api/v1/documents/", {"title": "x"})

    assert response.status_code == 422
    assert sorted(response.json()["error"]["fields"]) == ["customer_id", "retention_class"]


def test_api_list_detail_versions_and_patch(rm1, token_for, document):
    client = _api(rm1, token_for)
    client.post(f"/api/v1/documents/{document.pk}/versions", {"file": upload(PNG, "p.png")})

    listed = client.get("/api/v1/documents/", {"classification": "confidential", "q": "custody"})
    versions = client.get(f"/api/v1/documents/{document.pk}/versions")
    patched = client.patch(
        f"/api/v1/documents/{document.pk}",
        data=json.dumps({"classification": "restricted", "reason": "contains ID"}),
        content_type="application/json",
    )

    assert [item["id"] for item in listed.json()["items"]] == [document.pk]
    assert listed.json()["next_cursor"] is None
    assert [item["number"] for item in versions.json()] == [2, 1]
    assert versions.json()[0]["content_type"] == "image/png"
    assert patched.status_code == 200
    assert patched.json()["classification"] == "restricted"
    assert patched.json()["current_version"]["number"] == 2


def test_api_patch__invalid_classification(rm1, token_for, document):
    response = _api(rm1, token_for).patch(
        f"/api/v1/documents/{document.pk}",
        data=json.dumps({"classification": "secret"}),
        content_type="application/json",
    )

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["classification"]


def test_api_link_and_unlink(rm1, token_for, document, holding, other_holding):
    client = _api(rm1, token_for)
    base = f"/api/v1/documents/{document.pk}/links"

    linked = client.post(
        base, data=json.dumps({"holding_id": holding.pk}), content_type="application/json"
    )
    other = client.post(
        base, data=json.dumps({"holding_id": other_holding.pk}), content_type="application/json"
    )
    again = client.post(
        base, data=json.dumps({"holding_id": holding.pk}), content_type="application/json"
    )
    removed = client.delete(f"{base}/{holding.pk}")
    missing = client.delete(f"{base}/{holding.pk}")

    assert linked.status_code == 201
    assert linked.json()["holding_id"] == holding.pk
    assert other.status_code == 422
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "documents.link_exists"
    assert removed.status_code == 204
    assert missing.status_code == 409
    assert DocumentLink.objects.count() == 0


def test_api_download__attachment_with_safe_headers_and_audit(rm1, token_for, document):
    before = AuditEntry.objects.filter(action="document.downloaded").count()

    response = _api(rm1, token_for, "documents:read").get(
        f"/api/v1/documents/{document.pk}/download"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%90%88%E5%90%8C.pdf" in response["Content-Disposition"]
    assert AuditEntry.objects.filter(action="document.downloaded").count() == before + 1


def test_api_download__corrupted_file_refused(rm1, token_for, document, media):
    (media / document.current_version.storage_name).write_bytes(b"%PDF-1.4 changed")

    response = _api(rm1, token_for, "documents:read").get(
        f"/api/v1/documents/{document.pk}/versions/1/download"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "documents.integrity_failed"
    assert AuditEntry.objects.filter(action="document.integrity_failed").count() == 1
    assert AuditEntry.objects.filter(action="document.downloaded").count() == 0


def test_api_scope__other_rm_sees_nothing(rm2, token_for, document):
    client = _api(rm2, token_for)

    assert client.get("/api/v1/documents/").json()["items"] == []
    for path in ("", "/versions", "/download", "/versions/1/download"):
        response = client.get(f"/api/v1/documents/{document.pk}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert AuditEntry.objects.filter(action="document.downloaded").count() == 0


PERSONAS = {
    "anonymous": None,
    Role.RELATIONSHIP_MANAGER: True,
    Role.FINANCE_OFFICER: True,
    Role.COMPLIANCE_OFFICER: True,
    Role.AUDITOR: True,
    Role.CUSTOMER_SERVICE: False,
    Role.ADMINISTRATOR: False,
    Role.TRAINER: False,
    "other_rm": False,
    "out_of_branch": False,
}


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_download_matrix(persona, make_user, rm1, far_finance, document, token_for):
    """The downloads' rows of the permission matrix, with the files under tmp_path."""
    allowed = PERSONAS[persona]
    if persona == "anonymous":
        user = None
    elif persona == "other_rm":
        user = make_user(Role.RELATIONSHIP_MANAGER, username="rm-other")
    elif persona == "out_of_branch":
        user = far_finance
    elif persona == Role.RELATIONSHIP_MANAGER:
        user = rm1
    else:
        user = make_user(persona, username=f"p-{persona}")
    console = Client()
    api = Client()
    if user is not None:
        console.force_login(user)
        api = _api(user, token_for, "documents:read")
    before = AuditEntry.objects.exclude(action="access.denied").count()
    for client, url in (
        (console, reverse("documents:download", kwargs={"pk": document.pk})),
        (console, reverse("documents:version-download", kwargs={"pk": document.pk, "number": 1})),
        (api, f"/api/v1/documents/{document.pk}/download"),
        (api, f"/api/v1/documents/{document.pk}/versions/1/download"),
    ):
        response = client.get(url)
        if allowed:
            assert response.status_code == 200, url
            assert b"".join(response.streaming_content) == PDF
        elif user is None:
            assert response.status_code in (302, 401), url
        else:
            assert response.status_code in (403, 404), url
    assert AuditEntry.objects.exclude(action="access.denied").count() - before == (
        4 if allowed else 0
    )


def test_console_list_filters_and_tab(rm1_client, rm1, customer, document):
    response = rm1_client.get(reverse("documents:list"), {"classification": "confidential"})
    empty = rm1_client.get(reverse("documents:list"), {"classification": "public"})
    tab = rm1_client.get(
        reverse("customers:detail", kwargs={"pk": customer.pk}), {"tab": "documents"}
    )

    assert response.status_code == 200
    assert "Custody agreement" in response.content.decode()
    assert "Custody agreement" not in empty.content.decode()
    assert tab.status_code == 200
    assert reverse("documents:detail", kwargs={"pk": document.pk}) in tab.content.decode()


def test_console_upload__content_checked(rm1_client, customer, media):
    url = reverse("documents:upload")
    fields = {
        "customer": customer.customer_number,
        "title": "Call note",
        "classification": "internal",
        "retention_class": "correspondence",
    }

    refused = rm1_client.post(url, {**fields, "file": upload(HTML, "note.txt")})
    accepted = rm1_client.post(url, {**fields, "file": upload(TEXT, "note.txt")})

    assert refused.status_code == 200
    assert "markup" in refused.content.decode() or "标记" in refused.content.decode()
    document = Document.objects.get()
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("documents:detail", kwargs={"pk": document.pk})
    assert document.current_version.content_type == "text/plain"


def test_console_upload__unknown_customer(rm1_client, rm2, make_user):
    from cpms.customers.services import customer_register
    from tests.customers.conftest import individual

    theirs = customer_register(actor=rm2, data=individual(relationship_manager_id=rm2.pk))

    response = rm1_client.post(
        reverse("documents:upload"),
        {
            "customer": theirs.customer_number,
            "title": "x",
            "classification": "internal",
            "retention_class": "temporary",
            "file": upload(TEXT, "n.txt"),
        },
    )

    assert response.status_code == 200
    assert Document.objects.count() == 0


def test_console_detail_edit_version_link(rm1_client, document, holding):
    detail_url = reverse("documents:detail", kwargs={"pk": document.pk})

    page = rm1_client.get(detail_url)
    edited = rm1_client.post(
        reverse("documents:edit", kwargs={"pk": document.pk}),
        {"title": "Agreement", "classification": "public", "retention_class": "contract"},
    )
    versioned = rm1_client.post(
        reverse("documents:version-add", kwargs={"pk": document.pk}),
        {"file": upload(PNG, "scan.png")},
    )
    linked = rm1_client.post(
        reverse("documents:link", kwargs={"pk": document.pk}), {"holding": holding.pk}
    )
    unlinked = rm1_client.post(
        reverse("documents:unlink", kwargs={"pk": document.pk, "holding_id": holding.pk})
    )

    assert page.status_code == 200
    assert "H00000001" in page.content.decode()  # offered for linking
    assert [edited.status_code, versioned.status_code, linked.status_code] == [302, 302, 302]
    assert unlinked.status_code == 302
    document.refresh_from_db()
    assert (document.title, document.classification) == ("Agreement", "public")
    assert document.current_version.number == 2
    actions = list(
        AuditEntry.objects.filter(object_type="documents.document")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "document.uploaded",
        "document.updated",
        "document.version_added",
        "document.linked",
        "document.unlinked",
    ]


def test_console_download__corrupted_redirects_with_message(rm1_client, document, media):
    (media / document.current_version.storage_name).unlink()

    response = rm1_client.get(reverse("documents:download", kwargs={"pk": document.pk}))

    assert response.status_code == 302
    document.current_version.refresh_from_db()
    assert document.current_version.integrity_status == "missing"


def test_console_scope__other_rm_gets_404(rm2, document):
    client = Client()
    client.force_login(rm2)

    assert client.get(reverse("documents:detail", kwargs={"pk": document.pk})).status_code == 404
    listing = client.get(reverse("documents:list"))
    assert "Custody agreement" not in listing.content.decode()


def test_console_navigation_entry(rm1_client):
    response = rm1_client.get(reverse("console:dashboard"))

    assert reverse("documents:list") in response.content.decode()


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_query_counts_do_not_grow_with_rows(rm1, rm1_client, token_for, customer):
    from cpms.documents.services import document_upload

    def add(count):
        for number in range(count):
            document_upload(
                actor=rm1,
                customer=customer,
                file=upload(TEXT, f"n{number}.txt"),
                title=f"Note {number}",
                classification="internal",
                retention_class="temporary",
            )

    api = _api(rm1, token_for, "documents:read")
    add(1)
    api.get("/api/v1/documents/")  # first use of the token is recorded once
    rm1_client.get(reverse("documents:list"))  # so is the session's first request
    few = (_queries(api, "/api/v1/documents/"), _queries(rm1_client, reverse("documents:list")))
    add(5)
    many = (_queries(api, "/api/v1/documents/"), _queries(rm1_client, reverse("documents:list")))

    assert many == few
