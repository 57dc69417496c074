"""Shared fixtures: users per role, API tokens, clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from cpms.access import staff as access_staff
from cpms.users import mfa
from cpms.users import services as user_services
from cpms.users.choices import Role
from cpms.users.models import Branch, User
from cpms.users.services import security

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Services and commands called directly by a test speak English, so assertions on their
    messages read naturally; requests through the test client still negotiate their language
    (zh-hans by default), which is what the console and API tests check."""
    with translation.override("en"):
        yield


@pytest.fixture
def branch(db) -> Branch:
    return user_services.branch_ensure(actor=None, code="T01", name="测试分行", city="杭州")


@pytest.fixture
def make_user(db, branch) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: str = Role.RELATIONSHIP_MANAGER, **kwargs) -> User:
        username = kwargs.pop("username", None) or f"{role}-{next(counter)}"
        return access_staff.user_create(
            actor=None,
            username=username,
            password=kwargs.pop("password", PASSWORD),
            roles=[role],
            branch=kwargs.pop("branch", branch),
            **kwargs,
        )

    return make


@pytest.fixture
def staff(make_user) -> User:
    return make_user(Role.RELATIONSHIP_MANAGER, username="staff1", display_name="员工一")


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def token_for() -> Callable[..., str]:
    def issue(user: User, **kwargs) -> str:
        return user_services.token_create(actor=None, user=user, **kwargs).token

    return issue


@pytest.fixture
def api_client(staff, token_for) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(staff)}")


SEED_MIGRATIONS = (
    ("cpms.users.migrations.0002_default_roles", "create_roles"),
    ("cpms.access.migrations.0002_default_roles", "forwards"),
    ("cpms.access.migrations.0003_registry_permissions", "forwards"),
    ("cpms.access.migrations.0004_customers_configure", "forwards"),
    ("cpms.approvals.migrations.0002_default_policies", "create_policies"),
    ("cpms.access.migrations.0005_ledger_permissions", "forwards"),
    ("cpms.approvals.migrations.0003_points_adjust_policy", "create_policies"),
    ("cpms.points.migrations.0002_default_rule", "create_rule"),
    ("cpms.customers.migrations.0003_duplicates_kyc", "create_policy"),
)


@pytest.fixture
def reseeded(transactional_db):
    """Data that migrations seed (roles, conflicts, approval policies) for tests that run
    after a transactional test has flushed the database."""
    import importlib

    from django.apps import apps

    for module, function in SEED_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)


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
