"""Console shell: sign-in and sign-out, navigation, language switch, dashboard counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from cpms.console.navigation import navigation_for
from cpms.core.services import heartbeat_record
from cpms.users.choices import Role
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_login_page__chinese_by_default(client):
    response = client.get("/accounts/login/")
    content = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in content
    assert "登录" in content
    assert "客户财产管理系统" in content
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in content


@pytest.mark.django_db
def test_dashboard__anonymous_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


@pytest.mark.django_db
def test_sign_in__with_password_reaches_dashboard(client, staff):
    response = client.post(
        "/accounts/login/", {"username": "staff1", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain == [("/", 302)]
    content = response.content.decode()
    assert "仪表板" in content
    assert "欢迎，员工一。" in content


@pytest.mark.django_db
def test_sign_in__wrong_password_is_refused_with_a_message(client, staff):
    response = client.post("/accounts/login/", {"username": "staff1", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的用户名和密码" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_out__ends_the_session(staff_client):
    response = staff_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == reverse("console:login")
    assert staff_client.get("/").status_code == 302


@pytest.mark.django_db
def test_sign_out__get_is_not_allowed(staff_client):
    assert staff_client.get("/accounts/logout/").status_code == 405


@pytest.mark.django_db
def test_navigation__every_entry_opens(staff_client, staff):
    dashboard = staff_client.get("/").content.decode()
    for item in navigation_for(staff):
        assert f'href="{item.url}"' in dashboard
        assert staff_client.get(item.url).status_code == 200, item.url_name


@pytest.mark.django_db
def test_navigation__no_dead_links_on_any_console_page(staff_client):
    pages = ["/", "/staff/"]
    for page in pages:
        content = staff_client.get(page).content.decode()
        for href in set(re.findall(r'href="(/[^"]*)"', content)):
            assert staff_client.get(href).status_code == 200, f"{page} -> {href}"


@pytest.mark.django_db
def test_language_switch__to_english_and_back(staff_client):
    # when
    response = staff_client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    # then
    content = response.content.decode()
    assert '<html lang="en"' in content
    assert "Dashboard" in content
    assert "Sign out" in content
    assert "仪表板" not in content
    # and back
    response = staff_client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/"}, follow=True
    )
    assert "仪表板" in response.content.decode()


@pytest.mark.django_db
def test_language_switch__on_the_sign_in_page(client):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/accounts/login/"}, follow=True
    )
    assert "Customer Property Management System" in response.content.decode()


@pytest.mark.django_db
def test_dashboard__counts_are_live(make_user):
    # given: an administrator's home page (staff and the scheduler's heartbeat)
    admin = make_user(Role.ADMINISTRATOR, username="admin1")
    client = Client()
    client.force_login(admin)
    heartbeat_record()
    # when
    before = client.get(reverse("console:dashboard-counts")).content.decode()
    make_user(username="another")
    after = client.get(reverse("console:dashboard-counts")).content.decode()
    # then
    assert 'data-count="staff">1<' in before
    assert 'data-count="staff">2<' in after
    assert "最近心跳" in after


@pytest.mark.django_db
def test_dashboard__polls_counts_with_htmx(staff_client):
    content = staff_client.get("/").content.decode()
    assert f'hx-get="{reverse("console:dashboard-counts")}"' in content
    assert 'hx-trigger="every 30s"' in content
    assert "/static/console/htmx-2.0.11.min.js" in content


@pytest.mark.django_db
def test_staff_page__lists_staff_with_translated_roles(staff_client):
    content = staff_client.get("/staff/").content.decode()
    assert "staff1" in content
    assert "客户经理" in content
    assert "测试分行" in content


@pytest.mark.django_db
def test_pages__carry_security_headers(staff_client):
    response = staff_client.get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_templates__load_nothing_from_the_internet():
    root = Path(__file__).resolve().parents[2] / "cpms"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text()
        if re.search(r'(src|href)="(https?:)?//', text):
            offenders.append(str(template))
    assert offenders == []


@pytest.mark.django_db
def test_static__vendored_assets_are_served(staff_client):
    for name in ("htmx-2.0.11.min.js", "pico-2.1.1.min.css", "console.css", "console.js"):
        response = Client().get(f"/static/console/{name}")
        assert response.status_code == 200, name
