"""Requests that used to end in a 500 or in the wrong error (issue 10, items 7 and 8): each now
gets a 4xx in the error shape, and the OpenAPI document describes what the API really answers."""

from __future__ import annotations

import collections
import inspect
import typing

import pydantic
import pytest
from django.test import Client, override_settings
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.config.env import ConfigError, load
from cpms.core.middleware import client_ip
from cpms.customers.models import Customer
from cpms.users.choices import Role
from cpms.users.models import ApiToken

NUL_MESSAGE = "Text must not contain NUL characters (\\x00)."


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")


# ------------------------------------------------------------------ NUL characters


@pytest.mark.django_db
def test_nul_in_query__api_answers_422_naming_the_parameter(staff, token_for):
    response = bearer(token_for(staff)).get("/api/v1/customers/?q=a%00b")
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "validation_failed",
            "message": "The input is not valid.",
            "fields": {"q": NUL_MESSAGE},
        }
    }


@pytest.mark.django_db
def test_nul_in_json_body__api_answers_422_and_writes_nothing(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    response = client.post(
        "/api/v1/customers/",
        {"customer_type": "individual", "legal_name": "张\x00三"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"legal_name": NUL_MESSAGE}
    assert Customer.objects.count() == 0
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries


@pytest.mark.django_db
def test_nul_in_json_key__api_answers_422(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    response = client.post(
        "/api/v1/customers/", '{"legal\\u0000name": "x"}', content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"legal\\x00name": NUL_MESSAGE}


@pytest.mark.django_db
def test_nul_in_console_search__error_page_400(staff_client):
    response = staff_client.get("/customers/?q=%E5%BC%A0%00", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "q: Text must not contain NUL characters" in response.content.decode()


@pytest.mark.django_db
def test_nul_in_console_form__error_page_400_and_nothing_written(staff_client):
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    response = staff_client.post(
        "/customers/new/", {"legal_name": "a\x00b"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "legal_name: Text must not contain NUL characters" in response.content.decode()
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries


@pytest.mark.django_db
def test_deeply_nested_json__any_operation_answers_422(staff, token_for):
    client = bearer(token_for(staff, scopes=["*:write"]))
    deep = '{"legal_name": ' + "[" * 40 + "]" * 40 + "}"
    response = client.post("/api/v1/customers/", deep, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "request": "JSON may be nested at most 32 levels deep."
    }


# ------------------------------------------------------------------ authentication errors


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/customers/"),
        ("put", "/api/v1/points/rules"),
        ("patch", "/api/v1/customers/1"),
        ("delete", "/api/v1/tokens/deadbeef"),
    ],
)
def test_unsafe_request_with_unknown_token__401_not_csrf(method, path):
    client = Client(HTTP_AUTHORIZATION="Bearer cpms_deadbeef_not-a-token")
    response = getattr(client, method)(path, {}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="cpms"'


@pytest.mark.django_db
def test_unsafe_request_with_revoked_token__401_not_csrf(staff, token_for):
    token = token_for(staff, scopes=["*:write"])
    ApiToken.objects.update(revoked_at=timezone.now())
    response = bearer(token).post("/api/v1/customers/", {}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_unsafe_request_without_any_credential__401():
    response = Client().post("/api/v1/customers/", {}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_session_caller__still_needs_the_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/api/v1/customers/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_docs__a_token_of_any_scope_reads_them_without_a_server_error(staff, token_for, path):
    response = bearer(token_for(staff, scopes=["customers:read"])).get(path)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_docs__anonymous_gets_401_in_the_error_shape(path):
    response = Client().get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# ------------------------------------------------------------------ production mode


@pytest.mark.django_db
def test_disallowed_host__400_not_500():
    client = Client(raise_request_exception=False)
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["cpms.example.cn"]):
        console = client.get("/accounts/login/", HTTP_HOST="evil.example")
        api = client.get("/api/v1/me", HTTP_HOST="evil.example")
    assert console.status_code == 400
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "bad_request"


def test_load__production_refuses_a_missing_data_directory(tmp_path):
    missing = tmp_path / "nowhere"
    environ = {
        "CPMS_SECRET_KEY": "s" * 40,
        "CPMS_MASTER_KEY": "A" * 43 + "=",
        "CPMS_ALLOWED_HOSTS": "cpms.example.cn",
        "CPMS_DATA_DIR": str(missing),
    }
    with pytest.raises(ConfigError, match=rf"CPMS_DATA_DIR is {missing}, which does not exist"):
        load(environ)
    missing.mkdir()
    assert load(environ).data_dir == missing


def test_load__trusted_proxies_are_validated(tmp_path):
    base = {"CPMS_DEBUG": "1", "CPMS_DATA_DIR": str(tmp_path)}
    assert load(base).trusted_proxies == []
    loaded = load({**base, "CPMS_TRUSTED_PROXIES": "10.0.0.5, 192.168.0.0/24"})
    assert loaded.trusted_proxies == ["10.0.0.5/32", "192.168.0.0/24"]
    with pytest.raises(ConfigError, match=r"CPMS_TRUSTED_PROXIES item 'proxy\.local'"):
        load({**base, "CPMS_TRUSTED_PROXIES": "proxy.local"})


# ------------------------------------------------------------------ client address


class _Request:
    def __init__(self, remote: str, forwarded: str | None = None) -> None:
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # no proxy configured: the header is ignored, whoever sends it
        ([], "10.0.0.5", "203.0.113.7", "10.0.0.5"),
        # from the proxy: the client it saw
        (["10.0.0.5/32"], "10.0.0.5", "203.0.113.7", "203.0.113.7"),
        # a client forging the header through the proxy cannot choose its address
        (["10.0.0.5/32"], "10.0.0.5", "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        # two proxies in a row are both skipped
        (["10.0.0.0/24"], "10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7"),
        # not from a proxy: the header is not believed
        (["10.0.0.5/32"], "198.51.100.1", "203.0.113.7", "198.51.100.1"),
        # a garbage hop falls back to the socket address
        (["10.0.0.5/32"], "10.0.0.5", "not-an-ip", "10.0.0.5"),
        # only proxies in the chain: the peer
        (["10.0.0.0/24"], "10.0.0.5", "10.0.0.7", "10.0.0.5"),
    ],
)
def test_client_ip__forwarded_address_only_from_trusted_proxies(
    settings, proxies, remote, forwarded, expected
):
    settings.CPMS_TRUSTED_PROXIES = proxies
    assert client_ip(_Request(remote, forwarded)) == expected


@pytest.mark.django_db
def test_throttle__clients_behind_one_proxy_are_counted_apart(settings, make_user):
    """Failures of one client behind the proxy do not throttle another one behind it."""
    from cpms.users.services import security

    settings.CPMS_TRUSTED_PROXIES = ["10.0.0.5/32"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user(Role.RELATIONSHIP_MANAGER, username="victim")
    attacker = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.66")
    for _ in range(security.IP_THRESHOLD):
        attacker.post("/accounts/login/", {"username": "nobody", "password": "wrong"})
    assert security.ip_is_throttled("203.0.113.66")
    assert not security.ip_is_throttled("203.0.113.7")
    assert not security.ip_is_throttled("10.0.0.5")


# ------------------------------------------------------------------ the OpenAPI document


def _schema_classes() -> dict[str, set[str]]:
    from cpms.config.api import api

    names: dict[str, set[str]] = collections.defaultdict(set)
    visited: set[int] = set()

    def walk(annotation: typing.Any) -> None:
        if id(annotation) in visited:
            return
        visited.add(id(annotation))
        if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
            names[annotation.__name__].add(f"{annotation.__module__}.{annotation.__qualname__}")
            for field in annotation.model_fields.values():
                walk(field.annotation)
        for argument in typing.get_args(annotation):
            walk(argument)

    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in (operation.response_models or {}).values():
                    walk(model)
                for model in operation.models:
                    walk(model)
    return names


def test_openapi__no_two_schemas_share_a_name():
    """Ninja names components by class name: two classes with one name become one component,
    and responses then fail their documented schema (/me roles, stocktake lines, schedules)."""
    clashes = {name: sorted(where) for name, where in _schema_classes().items() if len(where) > 1}
    assert clashes == {}


@pytest.mark.django_db
def test_openapi__every_operation_documents_its_error_responses(staff_client):
    document = staff_client.get("/api/v1/openapi.json").json()
    error_ref = {"$ref": "#/components/schemas/Error"}
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "409", "422", "429"):
                response = operation["responses"].get(status)
                if response is None or (
                    response["content"]["application/json"]["schema"] != error_ref
                ):
                    missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "fields"]


@pytest.mark.django_db
def test_me__response_matches_its_documented_schema(staff, token_for, staff_client):
    document = staff_client.get("/api/v1/openapi.json").json()
    me_schema = document["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    me_name = me_schema["$ref"].rsplit("/", 1)[1]
    role_ref = document["components"]["schemas"][me_name]["properties"]["roles"]["items"]["$ref"]
    role_schema = document["components"]["schemas"][role_ref.rsplit("/", 1)[1]]
    body = bearer(token_for(staff)).get("/api/v1/me").json()
    assert body["roles"], "the user has a role"
    for role in body["roles"]:
        assert set(role_schema["required"]) <= set(role)
        assert set(role) <= set(role_schema["properties"])


# ------------------------------------------------------------------ bodies of the wrong type


@pytest.mark.django_db
@pytest.mark.parametrize("tags", [False, 7, {"a": 1}, [["nested"]]])
def test_patch__body_value_of_the_wrong_type_is_422(staff, token_for, tags):
    from cpms.customers.services import customer_register
    from tests.customers.conftest import individual

    customer = customer_register(actor=staff, data=individual(relationship_manager_id=staff.pk))
    client = bearer(token_for(staff, scopes=["*:write"]))
    entries = AuditEntry.objects.exclude(action="access.denied").count()
    response = client.patch(
        f"/api/v1/customers/{customer.pk}", {"tags": tags}, content_type="application/json"
    )
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["tags"]
    assert AuditEntry.objects.exclude(action="access.denied").count() == entries


@pytest.mark.django_db
def test_multipart_without_boundary__400_in_the_error_shape(staff, token_for):
    response = bearer(token_for(staff, scopes=["*:write"])).post(
        "/api/v1/documents/", b"--x\r\n", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
