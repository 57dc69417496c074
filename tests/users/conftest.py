"""Fixtures for sign-in security tests: privileged users, enrolled authenticators, a clock."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from unittest import mock

import pytest

from cpms.audit.models import AuditEntry
from cpms.users.choices import Role
from cpms.users.models import User


@pytest.fixture
def admin(make_user) -> User:
    return make_user(Role.ADMINISTRATOR, username="admin1")


@contextmanager
def frozen(at: datetime):
    """Every `timezone.now()` answers `at` inside the block."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def actions(**filters) -> list[str]:
    return list(
        AuditEntry.objects.filter(**filters).order_by("pk").values_list("action", flat=True)
    )


def audit_mark() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def actions_since(mark: int) -> list[str]:
    """Actions written since `mark`, without the `access.denied` entries that every refusal
    writes (tests/console/test_refusals.py covers those)."""
    return [action for action in actions(pk__gt=mark) if action != "access.denied"]
