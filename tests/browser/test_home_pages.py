"""Acceptance in a real browser: a relationship manager and a finance officer sign in and see
their own home page figures, each a link to the list it counts."""

from __future__ import annotations

import pytest

from cpms.access import staff as access_staff
from cpms.customers.services import customer_register
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.browser.conftest import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"


def _user(username, role, branch, **kwargs):
    return access_staff.user_create(
        actor=None, username=username, password=PASSWORD, roles=[role], branch=branch, **kwargs
    )


def _person(name, number, manager):
    return customer_register(
        actor=manager,
        data={
            "kind": "individual",
            "legal_name": name,
            "identity_kind": "resident_id",
            "identity_number": number,
            "relationship_manager_id": manager.pk,
        },
    )


def test_relationship_manager_sees_only_their_customers_on_the_home_page(live_server, page, shoot):
    # given two managers of one branch: the first with one customer, the second with two
    branch = user_services.branch_ensure(actor=None, code="BJ01", name="北京分行", city="北京")
    manager = _user("rm-home", Role.RELATIONSHIP_MANAGER, branch, display_name="客户经理甲")
    other = _user("rm-other", Role.RELATIONSHIP_MANAGER, branch)
    _person("甲客户", "11010519491231002X", manager)
    _person("乙客户一", "360426199101010071", other)
    _person("乙客户二", "110101199003070011", other)

    # when the first signs in
    sign_in(page, f"{live_server.url}/", "rm-home", PASSWORD)

    # then the home page counts their one customer and links to the customer list
    figure = page.locator('[data-count="my_customers"]')
    assert figure.inner_text() == "1"
    assert page.locator('[data-count="custody_overdue"]').inner_text() == "0"
    assert page.locator('[data-count="staff"]').count() == 0
    shoot(page, "rm-home")
    figure.click()
    page.wait_for_url(f"{live_server.url}/customers/")
    assert "甲客户" in page.content()
    assert "乙客户一" not in page.content()


def test_finance_officer_sees_approvals_waiting_on_the_home_page(live_server, page, shoot, enrol):
    from cpms.approvals import registry
    from cpms.approvals import services as approvals
    from tests.approvals.conftest import TEST_ACTION, FakeOperation

    # given a finance officer (two-factor enrolled) and a request someone else made
    branch = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    finance = _user("fin-home", Role.FINANCE_OFFICER, branch, display_name="财务甲")
    maker = _user("rm-maker", Role.RELATIONSHIP_MANAGER, branch)
    secret = enrol(finance)
    fake = FakeOperation()
    registry.register(TEST_ACTION, execute=fake.execute, describe=fake.describe, replace=True)
    approvals.approval_policy_ensure(actor=None, action=TEST_ACTION, approvers_required=1)
    approvals.approval_submit(
        actor=maker, action=TEST_ACTION, payload={"code": "N1", "name": "新网点"}, reason="开业"
    )

    # when they sign in with their code
    sign_in(page, f"{live_server.url}/", "fin-home", PASSWORD, totp_secret=secret)

    # then their home page shows the money figures and the menu badge
    assert page.locator('[data-count="approvals_waiting"]').inner_text() == "1"
    assert page.locator('[data-count="holds_expiring"]').inner_text() == "0"
    assert page.locator('[data-count="breaks_open"]').inner_text() == "0"
    assert page.locator('[data-count="loans_overdue"]').inner_text() == "0"
    assert page.locator('[data-count="my_customers"]').count() == 0
    assert page.locator('.nav-group[data-group="money"] summary .badge').inner_text() == "1"
    shoot(page, "finance-home")
    page.locator('[data-count="approvals_waiting"]').click()
    page.wait_for_url("**/approvals/?tab=awaiting")
    assert "新网点" in page.content() or "N1" in page.content()
