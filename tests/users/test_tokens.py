"""API bearer tokens: created by the CLI, printed once, stored as a hash, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from cpms.users import services
from cpms.users.models import ApiToken


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def create_by_cli(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", "create", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


@pytest.mark.django_db
def test_token_create__cli_prints_token_once_and_stores_only_its_hash(staff):
    # when
    token, notice = create_by_cli("--user", staff.username)
    # then
    record = ApiToken.objects.get(user=staff)
    assert token.startswith(f"cpms_{record.prefix}_")
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in notice
    assert "not shown again" in notice
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert token not in stored
    assert record.expires_at is None


@pytest.mark.django_db
def test_token_create__cli_expires_days(staff):
    before = timezone.now()
    create_by_cli("--user", staff.username, "--expires-days", "7")
    record = ApiToken.objects.get(user=staff)
    assert before + timedelta(days=7) <= record.expires_at <= timezone.now() + timedelta(days=7)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user named 'nobody'"),
        (
            ["--user", "staff1", "--expires-days", "0"],
            "expires_days: Use a number of days from 1 to 3650",
        ),
    ],
)
def test_token_create__cli_refuses_bad_input_and_writes_nothing(staff, args, message):
    with pytest.raises(CommandError, match=message):
        create_by_cli(*args)
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_token__reads_openapi_schema(staff):
    token, _ = create_by_cli("--user", staff.username)
    response = bearer(token).get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "CPMS API"


@pytest.mark.django_db
def test_token__records_last_use(staff):
    token, _ = create_by_cli("--user", staff.username)
    assert bearer(token).get("/api/v1/me").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def assert_401(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"] == 'Bearer realm="cpms"'


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/me", "/api/v1/docs"])
def test_token__wrong_token_is_401(staff, path):
    token, _ = create_by_cli("--user", staff.username)
    assert_401(bearer(token[:-1] + ("A" if token[-1] != "A" else "B")).get(path))
    assert_401(bearer("not-a-cpms-token").get(path))
    assert_401(Client().get(path))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/me"])
def test_token__expired_token_is_401(staff, path):
    token, _ = create_by_cli("--user", staff.username, "--expires-days", "1")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_401(bearer(token).get(path))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/me"])
def test_token__revoked_token_is_401(staff, path):
    token, _ = create_by_cli("--user", staff.username)
    assert bearer(token).get(path).status_code == 200
    out = StringIO()
    call_command("token", "revoke", ApiToken.objects.get().prefix, stdout=out)
    assert "Revoked" in out.getvalue()
    assert_401(bearer(token).get(path))


@pytest.mark.django_db
def test_token__inactive_user_is_401(staff):
    token, _ = create_by_cli("--user", staff.username)
    staff.is_active = False
    staff.save()
    assert_401(bearer(token).get("/api/v1/me"))


@pytest.mark.django_db
def test_token_list__never_shows_the_secret(staff):
    token, _ = create_by_cli("--user", staff.username)
    out = StringIO()
    call_command("token", "list", stdout=out)
    listing = out.getvalue()
    assert ApiToken.objects.get().prefix in listing
    assert "active" in listing
    assert token not in listing


@pytest.mark.django_db
def test_token_revoke__unknown_prefix_is_refused(staff):
    with pytest.raises(CommandError, match="No API token has this prefix"):
        call_command("token", "revoke", "deadbeef")


@pytest.mark.django_db
def test_session__signed_in_staff_can_read_the_docs(staff_client):
    response = staff_client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"https://" not in response.content  # swagger assets are served locally


@pytest.mark.django_db
def test_token_authenticate__touches_last_use_at_most_once_a_minute(staff):
    issued = services.token_create(actor=None, user=staff)
    services.token_authenticate(issued.token)
    first = ApiToken.objects.get().last_used_at
    services.token_authenticate(issued.token)
    assert ApiToken.objects.get().last_used_at == first
