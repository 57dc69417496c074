"""`cpms documents verify|upload` and the demo loader."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cpms.audit.models import AuditEntry
from cpms.customers.services import customer_register
from cpms.documents import demo
from cpms.documents.models import Document
from tests.customers.conftest import individual
from tests.documents.conftest import ELF, PDF, stored_files


def test_verify__exit_zero_when_intact(document, capsys):
    call_command("documents", "verify")

    assert "Checked 1 stored versions: 1 intact, 0 failed." in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="document.verified").count() == 1


def test_verify__non_zero_exit_on_a_tampered_file(document, media, capsys):
    (media / document.current_version.storage_name).write_bytes(b"%PDF-1.4 forged")

    with pytest.raises(CommandError, match="1 stored file"):
        call_command("documents", "verify", "--actor", "rm1")

    assert f"FAILED document {document.pk} v1: corrupted" in capsys.readouterr().err
    assert AuditEntry.objects.filter(action="document.integrity_failed").count() == 1


def test_upload__from_a_file(rm1, customer, tmp_path, capsys):
    path = tmp_path / "scan.bin"
    path.write_bytes(PDF)

    call_command(
        "documents",
        "upload",
        str(path),
        "--customer",
        customer.customer_number,
        "--title",
        "Scanned contract",
        "--retention",
        "contract",
        "--actor",
        "rm1",
    )

    document = Document.objects.get()
    assert document.title == "Scanned contract"
    assert document.current_version.content_type == "application/pdf"
    assert document.current_version.original_name == "scan.bin"
    assert "Uploaded document" in capsys.readouterr().out


def test_upload__refusals_are_clear_and_write_nothing(rm1, rm2, auditor, customer, tmp_path, media):
    elf = tmp_path / "tool.pdf"
    elf.write_bytes(ELF)
    base = ["documents", "upload", str(elf), "--customer", customer.customer_number]

    with pytest.raises(CommandError, match=r"documents\.file_type_refused: Executable"):
        call_command(*base, "--title", "x", "--actor", "rm1")
    with pytest.raises(CommandError, match="Give --actor"):
        call_command(*base, "--title", "x")
    with pytest.raises(CommandError, match="No customer"):
        call_command(*base, "--title", "x", "--actor", "rm2")
    with pytest.raises(CommandError, match="permission_denied"):
        call_command(*base, "--title", "x", "--actor", "auditor1")
    with pytest.raises(CommandError, match="No active user"):
        call_command(*base, "--title", "x", "--actor", "nobody")

    assert Document.objects.count() == 0
    assert stored_files(media) == []


def test_demo__documents_for_demo_customers_idempotent(rm1, media):
    tagged = customer_register(
        actor=rm1, data=individual(relationship_manager_id=rm1.pk, tags=["demo-finance"])
    )

    first = demo.load(rng=random.Random(1), options={})
    second = demo.load(rng=random.Random(1), options={})

    assert len(first) == 2 and second == []
    titles = sorted(Document.objects.filter(customer=tagged).values_list("title", flat=True))
    assert titles == ["Correspondence note", "KYC summary"]
    kinds = sorted(Document.objects.values_list("current_version__content_type", flat=True))
    assert kinds == ["application/pdf", "text/plain"]
    assert len(stored_files(media)) == 2


def test_demo__nothing_without_demo_customers(db):
    assert demo.load(rng=random.Random(1), options={}) == []
