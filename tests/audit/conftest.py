from __future__ import annotations

import pytest
from django.db import connection, transaction

from cpms.audit import triggers
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from tests.audit.helpers import audit_log  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def _audit_guard(db):
    """The triggers are there even if a transactional test elsewhere lifted them for its flush."""
    triggers.install(connection)


@pytest.fixture
def make_entries(db):
    def make(count: int, **fields) -> list:
        made = []
        with transaction.atomic():
            for index in range(count):
                made.append(
                    audit_record(
                        actor=None,
                        action=fields.get("action", AuditAction.BRANCH_CREATED),
                        object_type="branch",
                        object_id=index,
                        after={"code": f"B{index}", "名称": "分行"},
                        reason=fields.get("reason", ""),
                    )
                )
        return made

    return make
