"""Fixtures for bulk import and export: staff, files in every format and encoding."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import pytest

from cpms.privacy import keys
from cpms.users import services as user_services
from cpms.users.choices import Role

ENGLISH = [
    "Kind",
    "Legal name",
    "Identity document",
    "Identity number",
    "Phone",
    "Email",
    "Risk rating",
    "Tags",
]
CHINESE = [
    "客户类型",
    "客户名称",
    "证件类型",
    "证件号码",
    "手机号码",
    "电子邮箱",
    "风险等级",
    "标签",
]
FIELDS = [
    "kind",
    "legal_name",
    "identity_kind",
    "identity_number",
    "phone",
    "email",
    "risk_rating",
    "tags",
]


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
def compliance(make_user):
    return make_user(Role.COMPLIANCE_OFFICER, username="compliance1")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditor1")


def rows_from(samples: Iterable[dict[str, str]]) -> list[list[str]]:
    return [[sample.get(name, "") for name in FIELDS] for sample in samples]


def csv_bytes(headers: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(headers: list[str], rows: list[list[Any]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
