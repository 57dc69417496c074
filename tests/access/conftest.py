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
    from cpms.users.sessions import mark_authenticated

    client = Client()
    client.force_login(admin)
    session = client.session
    mark_authenticated(session)  # changing access needs a recent sign-in
    session.save()
    return client


@pytest.fixture
def audit_count():
    def count(action: str | None = None) -> int:
        entries = AuditEntry.objects.all()
        return entries.filter(action=action).count() if action else entries.count()

    return count
