"""The audit CSV export shows times in the screen's time zone and names it (issue 11, item 9):
the header says "Time (Asia/Shanghai)" (in the reader's language) and each time is ISO 8601
with its offset, so the file and the console agree and a reader converting to UTC can."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client, override_settings

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.users.choices import Role


@pytest.fixture
def auditor_console(make_user):
    client = Client()
    client.force_login(make_user(Role.AUDITOR, username="auditor-tz"))
    return client


def _record_at(moment: datetime) -> None:
    with mock.patch("django.utils.timezone.now", return_value=moment), transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.BRANCH_CREATED,
            object_type="tz-check",
            object_id="1",
            after={"code": "TZ"},
        )


def _export(client: Client, **extra) -> list[list[str]]:
    response = client.get("/audit/export.csv", {"object_type": "tz-check"}, **extra)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_export__local_time_with_offset_and_zone_in_the_header(auditor_console):
    _record_at(datetime(2026, 3, 1, 16, 30, 5, tzinfo=UTC))  # 00:30:05 next day in Shanghai
    auditor_console.cookies["django_language"] = "en"
    rows = _export(auditor_console)
    header = rows[0]
    assert header[2] == "Time (Asia/Shanghai)"
    assert header[0] == "ID" and header[-1] == "Entry hash" and len(header) == 17
    assert rows[1][2] == "2026-03-02T00:30:05+08:00"
    assert datetime.fromisoformat(rows[1][2]) == datetime(2026, 3, 1, 16, 30, 5, tzinfo=UTC)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_export__follows_the_configured_zone(auditor_console):
    _record_at(datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC))
    auditor_console.cookies["django_language"] = "en"
    rows = _export(auditor_console)
    assert rows[0][2] == "Time (Europe/Berlin)"
    assert rows[1][2] == "2026-07-01T12:00:00+02:00"


def test_export__header_in_the_readers_language(auditor_console):
    _record_at(datetime(2026, 3, 1, 16, 30, 5, tzinfo=UTC))
    english = _export(auditor_console, HTTP_ACCEPT_LANGUAGE="en")[0]
    auditor_console.cookies["django_language"] = "zh-hans"
    chinese = _export(auditor_console)[0]
    assert english[1] == "Sequence"
    assert "Asia/Shanghai" in chinese[2] and len(chinese) == len(english)
