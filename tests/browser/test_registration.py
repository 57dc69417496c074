"""Acceptance in a real browser (issue 11 items 1, 2 and 10): a relationship manager registers a
customer picking the manager by name; registering the same person again is blocked with a link
to the existing customer; a similar person needs a confirmation with a reason; KYC verification
is requested and approved by a second person (a compliance officer)."""

from __future__ import annotations

import re

import pytest

from cpms.access import staff as access_staff
from cpms.approvals.models import ApprovalRequest
from cpms.customers.models import Customer
from cpms.customers.services import customer_register
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.browser.conftest import sign_in
from tests.customers.conftest import OTHER_RESIDENT_ID, RESIDENT_ID

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("audit_flushable", "reseeded"),
]

PASSWORD = "browser-password-2026"
NEW_PERSON_ID = "110101199003070011"


def _fill_person(page, name: str, number: str, phone: str) -> None:
    page.get_by_label("类型", exact=True).select_option("individual")
    page.get_by_label("法定名称", exact=True).fill(name)
    page.get_by_label("身份证件", exact=True).select_option("resident_id")
    page.get_by_label("证件号码", exact=True).fill(number)
    page.get_by_label("电话", exact=True).fill(phone)


def test_registration_blocks_duplicates_and_kyc_needs_a_second_person(
    live_server, page, browser, shoot, enrol
):
    # given a relationship manager with one customer, 王小明, and a compliance officer
    branch = user_services.branch_ensure(actor=None, code="BJ01", name="北京分行", city="北京")
    manager = access_staff.user_create(
        actor=None,
        username="rm-register",
        password=PASSWORD,
        display_name="客户经理甲",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    officer = access_staff.user_create(
        actor=None,
        username="compliance-kyc",
        password=PASSWORD,
        display_name="合规专员乙",
        roles=[Role.COMPLIANCE_OFFICER.value],
        branch=branch,
    )
    secret = enrol(officer)
    existing = customer_register(
        actor=manager,
        data={
            "kind": "individual",
            "legal_name": "王小明",
            "identity_kind": "resident_id",
            "identity_number": RESIDENT_ID,
            "phone": "13800138000",
            "relationship_manager_id": manager.pk,
        },
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when the manager registers 李雷, picking the relationship manager by name
    sign_in(page, f"{live_server.url}/customers/new/", "rm-register", PASSWORD)
    page.wait_for_url(re.compile(r"/customers/new/$"))
    html = page.content()
    assert "(user id)" not in html and 'value="verified"' not in html
    _fill_person(page, "李雷", NEW_PERSON_ID, "13900139000")
    picker = page.locator("#id_relationship_manager_id")
    picker.fill("")
    picker.press_sequentially("经理甲", delay=50)
    option = page.locator(
        "#id_relationship_manager_id-options [role=option]", has_text="客户经理甲"
    )
    option.wait_for()
    shoot(page, "manager-picker")
    option.click()
    page.get_by_role("button", name="保存").click()

    # then 李雷 is registered with the manager shown by name
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    assert page.get_by_text("客户已登记。").is_visible()
    facts = page.locator(".customer-facts").first.inner_text()
    assert "客户经理甲" in facts
    shoot(page, "registered")

    # when the manager tries to register 王小明 again with the same ID number
    page.goto(f"{live_server.url}/customers/new/")
    _fill_person(page, "王小明", RESIDENT_ID.lower(), "13800138000")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")

    # then the registration is blocked with a link to the existing customer
    block = page.locator(".customer-duplicate")
    block.wait_for()
    link = block.get_by_role("link", name=re.compile(existing.customer_number))
    assert link.is_visible()
    assert "王小明" in link.inner_text()
    assert Customer.objects.count() == 2
    shoot(page, "same-id-blocked")

    # when they register a similar person (汪小明: same pinyin, same phone), another ID number
    _fill_person(page, "汪小明", OTHER_RESIDENT_ID, "13800138000")
    page.get_by_label("证件号码", exact=True).fill(OTHER_RESIDENT_ID)
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state("networkidle")

    # then they are warned, see the look-alike, and confirm with a reason
    warning = page.locator(".customer-duplicate")
    warning.wait_for()
    assert existing.customer_number in warning.inner_text()
    assert Customer.objects.count() == 2
    shoot(page, "possible-duplicate")
    page.locator("#id_confirm_possible_duplicate").check()
    page.locator("#id_duplicate_reason").fill("汪小明是王小明的弟弟，已核对身份证原件")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    twin = Customer.objects.get(legal_name="汪小明")
    assert twin.duplicate_reason == "汪小明是王小明的弟弟，已核对身份证原件"
    main = page.locator("main").inner_text()
    assert "汪小明是王小明的弟弟，已核对身份证原件" in main
    assert existing.customer_number in main
    shoot(page, "registered-despite-warning")

    # when the manager requests KYC verification
    page.locator("form.customers-kyc-form input[name=reason]").fill("身份证及住址证明已在网点查验")
    page.locator("form.customers-kyc-form button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    # then the customer stays pending with a badge, and nobody approved it yet
    badge = page.locator(".customer-badge-pending")
    badge.wait_for()
    request = ApprovalRequest.objects.get(action="customers.kyc_verify")
    assert request.status == "pending" and request.maker_id == manager.pk
    twin.refresh_from_db()
    assert twin.kyc_status == "pending"
    assert page.locator("form.customers-kyc-form").count() == 0
    shoot(page, "kyc-requested")

    # when the compliance officer opens the request and approves it
    checker = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page_b = checker.new_page()
    sign_in(
        page_b, f"{live_server.url}/approvals/{request.pk}/", "compliance-kyc", PASSWORD, secret
    )
    page_b.wait_for_url(re.compile(rf"/approvals/{request.pk}/$"))
    detail = page_b.locator("main").inner_text()
    assert "汪小明" in detail and twin.customer_number in detail
    assert "身份证及住址证明已在网点查验" in detail
    shoot(page_b, "kyc-approval")
    page_b.locator("#decision-reason").fill("资料齐全")
    page_b.locator("form.approval-decision button[type=submit]").first.click()
    page_b.wait_for_url(re.compile(rf"/approvals/{request.pk}/$"))
    page_b.locator(".approval-status-executed").first.wait_for()
    checker.close()

    # then the manager sees the customer's KYC verified, without the pending badge
    page.reload()
    facts = page.locator(".customer-facts").first.inner_text()
    assert "已核实" in facts
    assert page.locator(".customer-badge-pending").count() == 0
    twin.refresh_from_db()
    assert twin.kyc_status == "verified"
    shoot(page, "kyc-verified")
    assert console_errors == []
