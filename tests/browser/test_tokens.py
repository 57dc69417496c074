"""A relationship manager creates an API token for their own script in the console, in Chinese,
sees it once, and the token acts as them alone (issue 10, item 1: a token is created only by
its owner, with a fresh proof of presence)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from cpms.access import staff as access_staff
from cpms.users import services as user_services
from cpms.users.choices import Role
from cpms.users.models import ApiToken

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"


@pytest.mark.parametrize("width", [1366, 390])
def test_relationship_manager_creates_their_own_token(live_server, page, width):
    # given a relationship manager
    page.set_viewport_size({"width": width, "height": 900})
    branch = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    access_staff.user_create(
        actor=None,
        username="rm-tokens",
        password=PASSWORD,
        display_name="客户经理乙",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    # when they sign in and create a read-only token for customers
    page.goto(f"{live_server.url}/users/tokens/")
    page.get_by_label("用户名", exact=True).fill("rm-tokens")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/users/tokens/$"))
    assert page.get_by_role("heading", name="我的 API 令牌").is_visible()
    assert page.get_by_text("暂无 API 令牌。").is_visible()
    page.get_by_label("令牌用途").fill("月度报表脚本")
    page.get_by_label("*:read").uncheck()
    page.get_by_label("customers:read").check()
    page.get_by_role("button", name="创建令牌").click()

    # then the token is shown once, listed under its purpose, and it acts as them only
    shown = page.locator("code.token-secret")
    shown.wait_for()
    token = shown.inner_text().strip()
    record = ApiToken.objects.get()
    assert token.startswith(f"cpms_{record.prefix}_")
    assert record.user.username == "rm-tokens"
    assert record.created_by == record.user
    row = page.locator("table tbody tr", has_text=record.prefix)
    assert "月度报表脚本" in row.inner_text()
    assert "customers:read" in row.inner_text()
    me = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me").json()
    assert me["username"] == "rm-tokens"
    # and reloading the page does not show the secret again
    page.goto(f"{live_server.url}/users/tokens/")
    assert token not in page.content()
