"""Who may obtain an API token, and how (issue 10, item 1): a person only for themselves, after
proving presence (password, plus a two-factor code for privileged roles); an administrator only
for a service account; an operator on the server through the CLI, audited as such."""

from __future__ import annotations

import sys
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client

from cpms import cli
from cpms.access.staff import service_account_create
from cpms.audit.models import AuditEntry
from cpms.users import mfa
from cpms.users.choices import Role
from cpms.users.models import ApiToken, LoginAttempt
from cpms.users.sessions import mark_authenticated
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


def create(client: Client, **body):
    return client.post("/api/v1/tokens", body, content_type="application/json")


@pytest.mark.django_db
def test_token_create__api_needs_the_password(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    before = ApiToken.objects.count()
    mark = audit_mark()
    response = create(client, name="ci")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "token.reauthentication_required",
        "message": "Confirm your password (and two-factor code) to create an API token.",
        "fields": {"password": "This field is required."},
    }
    assert ApiToken.objects.count() == before
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_token_create__wrong_password_is_refused_and_counts_toward_the_lockout(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    before = ApiToken.objects.count()
    response = create(client, name="ci", password="wrong")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "token.reauthentication_failed"
    assert ApiToken.objects.count() == before
    assert LoginAttempt.objects.filter(
        user=staff, outcome=LoginAttempt.Outcome.BAD_CREDENTIALS
    ).exists()


@pytest.mark.django_db
def test_token_create__own_token_with_the_password(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    mark = audit_mark()
    response = create(client, name="ci", password=PASSWORD, scopes=["customers:read"])
    assert response.status_code == 201
    record = ApiToken.objects.get(prefix=response.json()["prefix"])
    assert record.user == staff
    assert record.created_by == staff
    assert actions_since(mark) == ["auth.reauthenticated", "token.created"]
    created = AuditEntry.objects.get(action="token.created", object_id=str(record.pk))
    # written through the caller's token, which the entry names
    caller = ApiToken.objects.exclude(pk=record.pk).get(user=staff)
    assert created.channel == f"api:{caller.prefix}"


@pytest.mark.django_db
def test_token_create__privileged_role_needs_two_factor(admin, enrol, token_for):
    client = bearer(token_for(admin, scopes=["*:write"]))
    before = ApiToken.objects.count()
    # not enrolled: refused even with the right password
    response = create(client, password=PASSWORD)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Enrol two-factor sign-in before creating API tokens."
    )
    secret = enrol(admin)
    # enrolled, no or a wrong code: refused
    assert create(client, password=PASSWORD).json()["error"]["code"] == (
        "token.reauthentication_failed"
    )
    wrong = "123456" if mfa.totp_code(secret) != "123456" else "654321"
    assert create(client, password=PASSWORD, code=wrong).status_code == 403
    assert ApiToken.objects.count() == before
    # the right code
    response = create(client, password=PASSWORD, code=mfa.totp_code(secret))
    assert response.status_code == 201


@pytest.mark.django_db
def test_token_create__administrator_for_a_person_is_refused(admin, staff, enrol, token_for):
    secret = enrol(admin)
    client = bearer(token_for(admin, scopes=["*:write"]))
    before = ApiToken.objects.count()
    response = create(client, user=staff.username, password=PASSWORD, code=mfa.totp_code(secret))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "token.other_person"
    assert ApiToken.objects.count() == before


@pytest.mark.django_db
def test_token_create__person_without_tokens_manage_cannot_issue_for_a_service_account(
    staff, admin, token_for
):
    service_account_create(actor=admin, username="feed", roles=[Role.RELATIONSHIP_MANAGER])
    client = bearer(token_for(staff, scopes=["*:write"]))
    response = create(client, user="feed", password=PASSWORD)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_token_create__service_account_renews_only_its_own_token(admin, token_for):
    service_account_create(actor=admin, username="feed", roles=[Role.RELATIONSHIP_MANAGER])
    other = service_account_create(actor=admin, username="feed2", roles=[])
    from cpms.users.models import User

    feed = User.objects.get(username="feed")
    client = bearer(token_for(feed, scopes=["access:write", "customers:read"]))
    renewed = create(client, name="rotated", scopes=["customers:read"])
    assert renewed.status_code == 201
    assert renewed.json()["user"] == "feed"
    refused = create(client, user=other.username, scopes=["customers:read"])
    assert refused.status_code == 403
    assert ApiToken.objects.filter(user=other).count() == 0


@pytest.mark.django_db
def test_service_account_create__refuses_the_administrator_role(admin):
    from cpms.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as raised:
        service_account_create(actor=admin, username="root-bot", roles=[Role.ADMINISTRATOR])
    assert raised.value.fields == {"roles": "A service account cannot be an administrator."}


@pytest.mark.django_db
def test_users_cli__creates_a_service_account(branch):
    out = StringIO()
    call_command(
        "users",
        "service-account",
        "feed",
        "--role",
        "relationship_manager",
        "--branch",
        branch.code,
        stdout=out,
    )
    from cpms.users.models import User

    feed = User.objects.get(username="feed")
    assert feed.is_service_account
    assert not feed.has_usable_password()
    assert "cpms token create --user feed" in out.getvalue()


@pytest.mark.django_db
def test_tokens_page__privileged_user_without_two_factor_is_told_to_enrol(admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    session = client.session
    mark_authenticated(session)
    session.save()
    response = client.post("/users/tokens/create/", {"name": "x", "scopes": ["*:read"]})
    assert response.status_code == 200
    assert "Enrol two-factor sign-in before creating API tokens." in response.content.decode()
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_cli__audit_entries_name_the_operating_system_account(staff, monkeypatch):
    """`cpms token create` is an operator on the server: its entry says so, with the command
    and the OS account that ran it."""
    monkeypatch.setattr(cli, "operator", lambda: "ops-alice")
    mark = audit_mark()
    argv = ["cpms", "token", "create", "--user", staff.username]

    def run_in_this_process(arguments: list[str]) -> None:
        # Django's own runner closes every connection when the command ends, which would
        # close the test's; the context `cli.main` sets up is what is under test
        call_command(*arguments[1:], stdout=StringIO(), stderr=StringIO())

    with (
        mock.patch.object(sys, "argv", argv),
        mock.patch("django.core.management.execute_from_command_line", run_in_this_process),
    ):
        cli.main()
    assert actions_since(mark) == ["token.created"]
    entry = AuditEntry.objects.get(action="token.created")
    assert entry.channel == "cli"
    assert entry.actor is None
    assert entry.user_agent == "cpms token (os user ops-alice)"
    assert ApiToken.objects.get(user=staff).created_by is None
