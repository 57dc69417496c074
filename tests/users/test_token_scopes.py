"""API token scopes, the token API and the "My API tokens" console page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from cpms.audit.models import AuditEntry
from cpms.core.errors import ValidationFailed
from cpms.users import services
from cpms.users.auth import TokenScopeInsufficient, require_token_scope
from cpms.users.models import ApiToken
from cpms.users.scopes import scopes_allow, scopes_cover, scopes_normalise
from cpms.users.sessions import mark_authenticated
from tests.conftest import PASSWORD
from tests.users.conftest import actions_since, audit_mark


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_scopes_normalise__default_and_validation():
    assert scopes_normalise(None) == ["*:read"]
    assert scopes_normalise(["ledger:write", "customers:read", "ledger:write"]) == [
        "customers:read",
        "ledger:write",
    ]
    with pytest.raises(ValidationFailed) as error:
        scopes_normalise(["moon:read", "ledger:delete"])
    assert list(error.value.fields) == ["scopes"]


def test_scopes_allow__write_implies_read_and_wildcards():
    assert scopes_allow(["ledger:write"], "ledger") is True
    assert scopes_allow(["ledger:write"], "ledger", write=True) is True
    assert scopes_allow(["ledger:read"], "ledger", write=True) is False
    assert scopes_allow(["ledger:read"], "customers") is False
    assert scopes_allow(["*:read"], "audit") is True
    assert scopes_allow(["*:read"], "audit", write=True) is False
    assert scopes_allow(["*:write"], "audit", write=True) is True


def test_scopes_cover__never_more_than_held():
    assert scopes_cover(["*:read"], ["ledger:read"]) is True
    assert scopes_cover(["*:read"], ["ledger:write"]) is False
    assert scopes_cover(["ledger:write", "customers:write"], ["*:read"]) is False
    assert scopes_cover(["*:write"], ["*:read", "ledger:write"]) is True


@pytest.mark.django_db
def test_require_token_scope__refuses_a_token_without_the_scope(staff, token_for):
    token = token_for(staff, scopes=["customers:read"])
    request = RequestFactory().get("/api/v1/x")
    request.api_token = ApiToken.objects.get()
    require_token_scope(request, "customers")
    with pytest.raises(TokenScopeInsufficient) as error:
        require_token_scope(request, "customers", write=True)
    assert error.value.code == "token.scope_insufficient"
    assert error.value.status == 403
    assert token.startswith("cpms_")


def test_require_token_scope__session_calls_are_not_limited():
    request = RequestFactory().get("/api/v1/x")
    assert require_token_scope(request, "ledger", write=True) is None


@pytest.mark.django_db
def test_token_create__cli_scopes(staff):
    out, err = StringIO(), StringIO()
    call_command(
        "token",
        "create",
        "--user",
        "staff1",
        "--scope",
        "customers:read",
        "--scope",
        "ledger:write",
        stdout=out,
        stderr=err,
    )
    assert ApiToken.objects.get().scopes == ["customers:read", "ledger:write"]
    listing = StringIO()
    call_command("token", "list", stdout=listing)
    assert "customers:read ledger:write" in listing.getvalue()


@pytest.mark.django_db
def test_token_create__default_scope_is_read_everywhere_and_audited(staff):
    mark = audit_mark()
    issued = services.token_create(actor=None, user=staff)
    assert issued.record.scopes == ["*:read"]
    assert actions_since(mark) == ["token.created"]
    assert AuditEntry.objects.get(pk__gt=mark).after["scopes"] == ["*:read"]


@pytest.mark.django_db
def test_tokens_api__list_create_revoke_own(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    # create
    mark = audit_mark()
    response = client.post(
        "/api/v1/tokens",
        {"name": "ci", "expires_days": 30, "scopes": ["customers:read"], "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith(f"cpms_{body['prefix']}_")
    assert body["scopes"] == ["customers:read"]
    assert body["state"] == "active"
    # the new token works and is limited to its scope
    new_client = bearer(body["token"])
    assert new_client.get("/api/v1/me").status_code == 200
    refused = new_client.get("/api/v1/tokens")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "token.scope_insufficient"
    # list (never the secret)
    listing = client.get("/api/v1/tokens").json()
    assert sorted(item["prefix"] for item in listing["items"]) == sorted(
        ApiToken.objects.values_list("prefix", flat=True)
    )
    assert "token" not in listing["items"][0]
    # revoke
    response = client.delete(f"/api/v1/tokens/{body['prefix']}")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    assert new_client.get("/api/v1/me").status_code == 401
    assert actions_since(mark) == ["auth.reauthenticated", "token.created", "token.revoked"]


@pytest.mark.django_db
def test_tokens_api__read_scope_cannot_create_or_revoke(staff, token_for):
    client = bearer(token_for(staff))
    own = ApiToken.objects.get()
    mark = audit_mark()
    created = client.post("/api/v1/tokens", {}, content_type="application/json")
    revoked = client.delete(f"/api/v1/tokens/{own.prefix}")
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "token.scope_insufficient"
    assert revoked.status_code == 403
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().revoked_at is None
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_tokens_api__a_token_cannot_mint_wider_scopes(staff, token_for):
    client = bearer(token_for(staff, scopes=["access:write"]))
    response = client.post(
        "/api/v1/tokens", {"scopes": ["ledger:write"]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "token.scope_insufficient"
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_tokens_api__others_tokens_are_404_without_tokens_manage(staff, make_user, token_for):
    other = make_user(username="other")
    token_for(other)
    theirs = ApiToken.objects.get(user=other)
    client = bearer(token_for(staff, scopes=["*:write"]))
    mark = audit_mark()
    assert client.delete(f"/api/v1/tokens/{theirs.prefix}").status_code == 404
    assert client.get("/api/v1/tokens?user=other").status_code == 403
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert actions_since(mark) == []


@pytest.mark.django_db
def test_tokens_api__administrator_manages_others_tokens(admin, staff, token_for):
    token_for(staff)
    theirs = ApiToken.objects.get(user=staff)
    client = bearer(token_for(admin, scopes=["*:write"]))
    listing = client.get("/api/v1/tokens?user=staff1").json()
    assert [item["prefix"] for item in listing["items"]] == [theirs.prefix]
    assert client.delete(f"/api/v1/tokens/{theirs.prefix}").status_code == 200
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is not None


@pytest.mark.django_db
def test_tokens_page__create_shows_the_token_once_then_revoke(staff_client, staff):
    # given a fresh proof of identity (token creation needs one)
    session = staff_client.session
    mark_authenticated(session)
    session.save()
    # when
    response = staff_client.post(
        "/users/tokens/create/",
        {"name": "laptop", "expires_days": "7", "scopes": ["customers:read", "ledger:read"]},
    )
    # then
    record = ApiToken.objects.get()
    content = response.content.decode()
    assert f"cpms_{record.prefix}_" in content
    assert record.scopes == ["customers:read", "ledger:read"]
    assert record.user == staff
    listing = staff_client.get("/users/tokens/").content.decode()
    assert record.prefix in listing
    assert f"cpms_{record.prefix}_" not in listing
    # when revoked
    mark = audit_mark()
    response = staff_client.post(f"/users/tokens/{record.prefix}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    assert actions_since(mark) == ["token.revoked"]


@pytest.mark.django_db
def test_tokens_page__cannot_revoke_someone_elses_token(staff_client, make_user, token_for):
    other = make_user(username="other")
    token_for(other)
    theirs = ApiToken.objects.get()
    mark = audit_mark()
    assert staff_client.post(f"/users/tokens/{theirs.prefix}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None
    assert actions_since(mark) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "area"),
    [
        ("/api/v1/me", None),
        ("/api/v1/branches", "users"),
        ("/api/v1/tokens", "access"),
        ("/api/v1/access/roles", "access"),
        ("/api/v1/audit/entries", "audit"),
        ("/api/v1/approvals/requests", "approvals"),
        ("/api/v1/privacy/reveal", "privacy"),
        ("/api/v1/brand-new-router/things", "brand-new-router"),
    ],
)
def test_area_of_path__every_router_is_covered(path, area):
    from cpms.users.auth import area_of_path

    assert area_of_path(path) == area


@pytest.mark.django_db
def test_token_scope__enforced_centrally_for_writes(make_user, token_for):
    from django.test import Client

    from cpms.users.choices import Role

    admin = make_user(Role.ADMINISTRATOR, username="adm")
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin, scopes=['*:read'])}")
    response = reader.post(
        "/api/v1/access/conflicts",
        {"first": "pii.reveal", "second": "customers.manage"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "token.scope_insufficient"
    assert reader.get("/api/v1/access/conflicts").status_code == 200
