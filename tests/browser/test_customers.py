"""Acceptance in a real browser: a relationship manager signs in, registers a customer through
the console form in Chinese, finds it in the list, and does not see another manager's customer."""

from __future__ import annotations

import re

import pytest

from cpms.access import staff as access_staff
from cpms.customers.services import customer_register
from cpms.users import services as user_services
from cpms.users.choices import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"


def test_relationship_manager_registers_a_customer_in_chinese(live_server, page):
    # given two relationship managers of one branch, the second with a customer of their own
    branch = user_services.branch_ensure(actor=None, code="BJ01", name="北京分行", city="北京")
    manager = access_staff.user_create(
        actor=None,
        username="rm-browser",
        password=PASSWORD,
        display_name="客户经理甲",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    other = access_staff.user_create(
        actor=None,
        username="rm-other",
        password=PASSWORD,
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    customer_register(
        actor=other,
        data={
            "kind": "organisation",
            "legal_name": "别人的客户有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": other.pk,
        },
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when the first signs in and registers a customer through the form, in Chinese
    page.goto(f"{live_server.url}/customers/new/")
    page.get_by_label("用户名", exact=True).fill("rm-browser")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/customers/new/$"))
    assert page.get_by_role("heading", name="登记客户").is_visible()
    page.get_by_label("类型", exact=True).select_option("individual")
    page.get_by_label("法定名称", exact=True).fill("王小明")
    page.get_by_label("身份证件", exact=True).select_option("resident_id")
    page.get_by_label("证件号码", exact=True).fill("11010519491231002x")
    page.get_by_label("电话", exact=True).fill("138 0013 8000")
    page.get_by_role("button", name="保存").click()

    # then the customer's page opens with the registration confirmed and the ID masked
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    assert page.get_by_text("客户已登记。").is_visible()
    assert page.get_by_role("heading", name=re.compile("王小明")).is_visible()
    assert "11010519491231002X" not in page.content()
    assert "1101**********002X" in page.content()

    # and the list shows it, but not the other manager's customer
    page.goto(f"{live_server.url}/customers/")
    table = page.locator("table")
    assert table.get_by_text("王小明").is_visible()
    assert table.get_by_text("别人的客户有限公司").count() == 0
    # nor does a search for it by name
    page.get_by_role("searchbox").fill("别人的客户")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url(re.compile(r"q="))
    assert page.locator("table").get_by_text("别人的客户有限公司").count() == 0
    assert manager.managed_customers.count() == 1
    assert console_errors == []
