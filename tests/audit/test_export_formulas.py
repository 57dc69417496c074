"""The audit log CSV export neutralises formula text (issue 10, item 3): a reason, object id
or user agent that starts with =, +, - or @ reaches the file as text, not as a formula."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction
from django.test import Client

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.users.choices import Role

PAYLOADS = ['=HYPERLINK("http://x","y")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)"]


@pytest.fixture
def auditor_console(make_user):
    client = Client()
    client.force_login(make_user(Role.AUDITOR, username="auditor1"))
    return client


def test_entry_export__formula_text_is_neutralised(auditor_console):
    with transaction.atomic():
        for payload in PAYLOADS:
            audit_record(
                actor=None,
                action=AuditAction.BRANCH_CREATED,
                object_type="formula",
                object_id=payload,
                after={"code": payload},
                reason=payload,
            )

    auditor_console.cookies["django_language"] = "en"  # the header is in the reader's language
    response = auditor_console.get("/audit/export.csv", {"object_type": "formula"})

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    object_ids = [row[header.index("Object ID")] for row in rows[1:]]
    reasons = [row[header.index("Reason")] for row in rows[1:]]
    expected = sorted("'" + payload for payload in PAYLOADS)
    assert (sorted(object_ids), sorted(reasons)) == (expected, expected)
    assert [row[0] for row in rows[1:]] == [row[0] for row in rows[1:] if row[0].isdigit()]
