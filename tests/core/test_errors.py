"""Every API error, whatever its cause, has the shape {"error": {code, message, fields}};
console errors are friendly pages in the user's language."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import include, path

from cpms.core.errors import PermissionDenied


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.django_db
def test_api_error__401_without_token(client):
    error = assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    assert error["fields"] == {}


@pytest.mark.django_db
def test_api_error__404_unknown_path_even_in_debug(api_client):
    with override_settings(DEBUG=True):
        assert_error(api_client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(api_client.get("/api/v2/branches"), 404, "not_found")


@pytest.mark.django_db
def test_api_error__404_missing_object(api_client):
    assert_error(api_client.get("/api/v1/branches/999999"), 404, "not_found")


@pytest.mark.django_db
def test_api_error__422_names_the_field(api_client):
    error = assert_error(api_client.get("/api/v1/branches?limit=abc"), 422, "validation_failed")
    assert list(error["fields"]) == ["limit"]
    error = assert_error(api_client.get("/api/v1/branches?cursor=%%%"), 422, "validation_failed")
    assert list(error["fields"]) == ["cursor"]


@pytest.mark.django_db
def test_api_error__405_wrong_method(api_client):
    assert_error(api_client.delete("/api/v1/me"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_api_error__403_from_a_domain_error(api_client, monkeypatch):
    def refuse(*, user):
        raise PermissionDenied()

    monkeypatch.setattr("cpms.users.selectors.branch_list", refuse)
    assert_error(api_client.get("/api/v1/branches"), 403, "permission_denied")


@pytest.mark.django_db
def test_api_error__500_is_json_with_request_id_and_no_traceback(api_client, monkeypatch):
    def explode(*, user):
        raise RuntimeError("boom")

    monkeypatch.setattr("cpms.users.selectors.branch_list", explode)
    response = api_client.get("/api/v1/branches", HTTP_X_REQUEST_ID="req-12345678")
    error = assert_error(response, 500, "server_error")
    assert error["fields"] == {"request_id": "req-12345678"}
    assert "boom" not in response.content.decode()
    assert response["X-Request-ID"] == "req-12345678"


def _console_explode(request):
    raise RuntimeError("boom")


urlpatterns = [path("explode", _console_explode), path("", include("cpms.config.urls"))]
handler500 = "cpms.core.views.server_error"


@pytest.mark.django_db
def test_console_error__404_is_a_friendly_page_in_chinese(staff_client):
    response = staff_client.get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "页面不存在" in content
    assert 'lang="zh-hans"' in content


@pytest.mark.django_db
def test_console_error__404_in_english_when_asked(staff_client):
    response = staff_client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_console_error__403_is_a_friendly_page(make_user):
    from cpms.users.choices import Role

    customer = make_user(Role.CUSTOMER)
    client = Client()
    client.force_login(customer)
    response = client.get("/")
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_console_error__500_is_a_friendly_page_with_reference():
    client = Client(raise_request_exception=False)
    response = client.get("/explode", HTTP_X_REQUEST_ID="req-87654321")
    assert response.status_code == 500
    content = response.content.decode()
    assert "服务器出错" in content
    assert "req-87654321" in content
    assert "boom" not in content


@pytest.mark.django_db
def test_console_error__csrf_failure_is_friendly(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()
