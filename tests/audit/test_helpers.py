from __future__ import annotations

import pytest

from cpms.users import services as user_services


@pytest.mark.django_db
def test_audit_log__returns_entries_written_since_the_mark(audit_log, make_entries):
    make_entries(2)
    audit_log.mark()
    user_services.branch_ensure(actor=None, code="H01", name="总行")
    assert audit_log.actions() == ["branch.created"]
    assert audit_log.new()[0].after == {"code": "H01", "name": "总行", "city": ""}
