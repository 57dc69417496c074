"""Fixtures for sign-in security tests: privileged users, enrolled authenticators, a clock."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.users import mfa, security
from cpms.users.choices import Role
from cpms.users.models import User


@pytest.fixture
def admin(make_user) -> User:
    return make_user(Role.ADMINISTRATOR, username="admin1")


@pytest.fixture
def enrol() -> Callable[[User], str]:
    """Enrol `user` with a code from a minute ago (so codes of the present are still unused);
    returns the TOTP secret."""

    def run(user: User) -> str:
        enrolment = security.mfa_enrolment_begin(actor=user, user=user)
        earlier = timezone.now() - timedelta(seconds=60)
        security.mfa_enrolment_confirm(
            actor=user,
            user=user,
            code=mfa.totp_code(enrolment.secret, at=earlier.timestamp()),
            now=earlier,
        )
        return enrolment.secret

    return run


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
    return actions(pk__gt=mark)
