"""Fixtures of the document store: files kept under tmp_path, staff per scope, a customer of
rm1 with a property item, and sample files of every accepted kind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cpms.customers.services import customer_register
from cpms.holdings.models import Holding
from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.audit.helpers import audit_log  # noqa: F401 (fixture)
from tests.customers.conftest import individual, organisation

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 40
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"
TEXT = "客户来电，确认地址变更。\nCall noted.\n".encode()
CSV = "name,amount,currency\n张三,100,CNY\nLi Si,250,CNY\n".encode()


def office(*entries: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name in entries:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def docx() -> bytes:
    return office("_rels/.rels", "word/document.xml")


def xlsx() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    book = Workbook()
    book.active.append(["a", 1])
    book.save(buffer)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


def upload(data: bytes, name: str = "file.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Every stored file goes under tmp_path, never into var/."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    return root


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    keys.forget_cached_keys()
    yield
    keys.forget_cached_keys()


@pytest.fixture
def far_branch(db):
    return user_services.branch_ensure(actor=None, code="FAR", name="远方分行")


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1", display_name="经理一")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def far_finance(make_user, far_branch):
    return make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far_branch)


@pytest.fixture
def finance(make_user):
    return make_user(Role.FINANCE_OFFICER, username="finance1")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


@pytest.fixture
def customer(rm1):
    return customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))


@pytest.fixture
def other_customer(rm1):
    return customer_register(actor=rm1, data=organisation(relationship_manager_id=rm1.pk))


@pytest.fixture
def holding(customer):
    return Holding.objects.create(
        holding_number="H00000001", customer=customer, kind="account", identifier="ACC-1"
    )


@pytest.fixture
def other_holding(other_customer):
    return Holding.objects.create(
        holding_number="H00000002", customer=other_customer, kind="account", identifier="ACC-2"
    )


@pytest.fixture
def document(rm1, customer):
    from cpms.documents.services import document_upload

    return document_upload(
        actor=rm1,
        customer=customer,
        file=upload(PDF, "合同.pdf"),
        title="Custody agreement",
        classification="confidential",
        retention_class="contract",
    )


@pytest.fixture
def rm1_client(rm1) -> Client:
    client = Client()
    client.force_login(rm1)
    return client
