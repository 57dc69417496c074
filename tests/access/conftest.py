from __future__ import annotations

import pytest
from django.test import Client

from cpms.audit.models import AuditEntry
from cpms.users.choices import Role


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin1")


@pytest.fixture
def admin_client(admin):
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def audit_count():
    def count(action: str | None = None) -> int:
        entries = AuditEntry.objects.all()
        return entries.filter(action=action).count() if action else entries.count()

    return count
