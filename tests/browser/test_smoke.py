"""Smoke test in a real browser: sign in and see the dashboard in Chinese."""

from __future__ import annotations

import pytest

from cpms.access import staff as access_staff
from cpms.users.choices import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]


def test_sign_in_and_see_the_dashboard_in_chinese(live_server, page):
    # given a staff user
    access_staff.user_create(
        actor=None,
        username="browser1",
        password="browser-password-2026",
        display_name="浏览器测试",
        roles=[Role.RELATIONSHIP_MANAGER.value],
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    # when signing in through the form
    page.goto(f"{live_server.url}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.get_by_label("用户名").fill("browser1")
    page.get_by_label("密码").fill("browser-password-2026")
    page.get_by_role("button", name="登录").click()
    # then the dashboard greets in Chinese with the relationship manager's own work
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="仪表板").is_visible()
    assert page.get_by_text("欢迎，浏览器测试。").is_visible()
    assert page.get_by_text("我的客户").is_visible()
    assert page.locator('[data-count="my_customers"]').inner_text() == "0"
    # and htmx loaded from the vendored file, with no CSP violation or script error
    assert page.evaluate("typeof window.htmx") == "object"
    assert console_errors == []


def test_language_switch_in_the_browser(live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Sign in").is_visible()


def test_phone_layout_has_no_horizontal_scroll(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    width = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert width <= 375
