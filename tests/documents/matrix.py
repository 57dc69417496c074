"""Permission-matrix declarations of the document store (see tests/permission_rules.py).
Downloads stream a stored file, so their matrix runs in tests/documents/test_interfaces.py
with the files under tmp_path."""

from __future__ import annotations

import tempfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.permission_rules import Rule

VIEW = ("documents.view",)
MANAGE = ("documents.manage",)
STREAMS = "streams a stored file: tests/documents/test_interfaces.py"

CONSOLE = {
    "documents:list": Rule(VIEW),
    "documents:upload": Rule(MANAGE),
    "documents:detail": Rule(VIEW, scoped=True),
    "documents:edit": Rule(MANAGE, "POST", scoped=True),
    "documents:version-add": Rule(MANAGE, "POST", scoped=True),
    "documents:download": Rule(VIEW, scoped=True, skip=STREAMS),
    "documents:version-download": Rule(VIEW, scoped=True, skip=STREAMS),
    "documents:link": Rule(MANAGE, "POST", scoped=True),
    "documents:unlink": Rule(MANAGE, "POST", scoped=True),
}

API = {
    ("GET", "/api/v1/documents/"): Rule(VIEW),
    ("POST", "/api/v1/documents/"): Rule(MANAGE, "POST"),
    ("GET", "/api/v1/documents/{document_id}"): Rule(VIEW, scoped=True),
    ("PATCH", "/api/v1/documents/{document_id}"): Rule(MANAGE, "PATCH", scoped=True),
    ("GET", "/api/v1/documents/{document_id}/versions"): Rule(VIEW, scoped=True),
    ("POST", "/api/v1/documents/{document_id}/versions"): Rule(MANAGE, "POST", scoped=True),
    ("GET", "/api/v1/documents/{document_id}/download"): Rule(VIEW, scoped=True, skip=STREAMS),
    ("GET", "/api/v1/documents/{document_id}/versions/{number}/download"): Rule(
        VIEW, scoped=True, skip=STREAMS
    ),
    ("POST", "/api/v1/documents/{document_id}/links"): Rule(MANAGE, "POST", scoped=True),
    ("DELETE", "/api/v1/documents/{document_id}/links/{holding_id}"): Rule(
        MANAGE, "DELETE", scoped=True
    ),
}

WRITE_BODIES = {
    "/api/v1/documents/": {"title": "matrix", "retention_class": "temporary"},
    "/api/v1/documents/{document_id}": {"title": "matrix"},
    "/api/v1/documents/{document_id}/links": {"holding_id": 0},
}

PLACEHOLDERS = {
    "{document_id}": lambda world: str(world["document"].pk),
    "{holding_id}": lambda world: str(world["document_holding"].pk),
    "{number}": lambda world: "1",
}


def build(world: dict) -> None:
    from cpms.documents.services import document_link, document_upload
    from cpms.holdings.models import Holding

    manager = world["users"]["relationship_manager"]
    holding = Holding.objects.create(
        holding_number="HMATRIX01", customer=world["customer"], kind="account", identifier="M-1"
    )
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        document = document_upload(
            actor=manager,
            customer=world["customer"],
            file=SimpleUploadedFile("matrix.txt", b"matrix\n"),
            title="Matrix document",
            classification="internal",
            retention_class="temporary",
        )
    document_link(actor=manager, document=document, holding=holding)
    world["document"] = document
    world["document_holding"] = holding


def console_kwargs(name: str, world: dict) -> dict | None:
    if not name.startswith("documents:"):
        return None
    pk = world["document"].pk
    return {
        "documents:list": {},
        "documents:upload": {},
        "documents:unlink": {"pk": pk, "holding_id": world["document_holding"].pk},
        "documents:version-download": {"pk": pk, "number": 1},
    }.get(name, {"pk": pk})


def state(world: dict) -> tuple:
    from cpms.documents.models import Document, DocumentLink, DocumentVersion

    return (
        tuple(
            Document.objects.order_by("pk").values_list(
                "pk", "title", "classification", "retention_class"
            )
        ),
        DocumentVersion.objects.count(),
        DocumentLink.objects.count(),
    )
