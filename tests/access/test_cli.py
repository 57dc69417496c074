from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cpms.access.models import Grant
from cpms.audit.models import AuditEntry
from cpms.users.choices import Role as DefaultRole

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("access", *args, stdout=out)
    return out.getvalue()


def test_access_roles__lists_permissions():
    output = run("roles")
    assert "auditor" in output
    assert "audit.export" in output


def test_access_grant__as_system_then_revoke(make_user):
    make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    output = run("grant", "--user", "svc", "--role", "trainer", "--reason", "cover")
    grant = Grant.objects.get(user__username="svc", role__code="trainer")
    assert f"#{grant.pk}" in output
    assert AuditEntry.objects.get(action="role.granted", reason="cover").actor is None
    run("revoke", str(grant.pk), "--reason", "done")
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_access_grant__as_an_actor_without_permission_refused(make_user):
    make_user(DefaultRole.RELATIONSHIP_MANAGER, username="rmx")
    make_user(DefaultRole.CUSTOMER_SERVICE, username="svc")
    with pytest.raises(CommandError):
        call_command(
            "access",
            "--actor",
            "rmx",
            "grant",
            "--user",
            "svc",
            "--role",
            "auditor",
            "--reason",
            "x",
            stdout=StringIO(),
        )
    assert not Grant.objects.filter(role__code="auditor").exists()


def test_access_grants__lists_active(make_user):
    make_user(DefaultRole.AUDITOR, username="aud")
    assert "aud" in run("grants", "--user", "aud")
