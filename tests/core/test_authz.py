"""core.authz: the access layer as the apps below it see it."""

from __future__ import annotations

import pytest

from cpms.access import checks, scopes
from cpms.core import authz
from cpms.core.errors import PermissionDenied
from cpms.users.models import User


def test_access_installs_the_same_checks_at_start_up():
    port = authz._installed()
    assert port.has_permission is checks.user_has_permission
    assert port.require_permission is checks.require_permission
    assert port.scoped is scopes.scoped


def test_without_the_access_layer_every_question_raises(monkeypatch):
    monkeypatch.setattr(authz, "_port", None)
    for ask in (
        lambda: authz.user_has_permission(None, "audit.view"),
        lambda: authz.require_permission(None, "audit.view"),
        lambda: authz.scoped(None, user=None, permission="users.view"),
    ):
        with pytest.raises(RuntimeError, match="not installed"):
            ask()
    authz.record_refusal(None, status=403, exc=None)  # nothing to record with: a no-op


@pytest.mark.django_db
def test_a_user_without_grants_is_refused_through_the_port(branch):
    user = User.objects.create(username="nobody", branch=branch, is_staff=True)
    assert authz.user_has_permission(user, "audit.view") is False
    assert authz.role_codes(user) == ""
    assert authz.role_codes(None) == ""
    with pytest.raises(PermissionDenied):
        authz.require_permission(user, "audit.view")
    assert list(authz.scoped(User.objects.all(), user=user, permission="users.view")) == []
