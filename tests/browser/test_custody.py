"""Acceptance in a real browser: a relationship manager takes an item into custody by typing
part of the customer's name in the picker and choosing with the keyboard, enters the declared
value as "800,000.00", and sees the item page with the formatted value, the customer's name and
a timeline in sentences; then hands the item to a colleague picked by name with a click."""

from __future__ import annotations

import re

import pytest

from cpms.access import staff as access_staff
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


def test_custodian_takes_an_item_into_custody_with_picker_and_typed_value(live_server, page, shoot):
    # given a relationship manager and a colleague of one branch, and two customers
    branch = user_services.branch_ensure(actor=None, code="HZ01", name="杭州分行", city="杭州")
    manager = access_staff.user_create(
        actor=None,
        username="rm-custody",
        password=PASSWORD,
        display_name="保管员张三",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    access_staff.user_create(
        actor=None,
        username="rm-colleague",
        password=PASSWORD,
        display_name="保管员李四",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    for name, number in (("王小明", RESIDENT_ID), ("王大力", OTHER_RESIDENT_ID)):
        customer_register(
            actor=manager,
            data={
                "kind": "individual",
                "legal_name": name,
                "identity_kind": "resident_id",
                "identity_number": number,
                "relationship_manager_id": manager.pk,
            },
        )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when they open the intake form and find the customer by part of the name, by keyboard
    sign_in(page, f"{live_server.url}/custody/new/", "rm-custody", PASSWORD)
    page.wait_for_url(re.compile(r"/custody/new/$"))
    search = page.locator("#id_customer")
    search.click()
    search.press_sequentially("小明", delay=50)
    options = page.locator("#id_customer-options [role=option]")
    options.first.wait_for()
    assert options.count() == 1 and "王小明" in options.first.inner_text()
    search.press("ArrowDown")
    search.press("Enter")
    assert search.input_value() == "王小明"
    page.locator("#id_category").select_option("collateral")
    page.locator("#id_description").fill("黄金金条 1000 克")
    page.locator("#id_condition_grade").select_option("good")
    page.locator("#id_location").fill("金库 A-01-03")
    page.locator("#id_value").fill("800,000.00")
    shoot(page, "intake-form")
    page.get_by_role("button", name="接收", exact=True).click()

    # then the item page shows the value formatted, the customer's name and a readable timeline
    page.wait_for_url(re.compile(r"/custody/\d+/$"))
    facts = page.locator("dl").first
    assert "800,000.00 CNY" in facts.inner_text()
    assert "王小明" in facts.inner_text()
    timeline = page.locator(".custody-timeline")
    assert "金库 A-01-03" in timeline.inner_text()
    assert "保管员张三" in timeline.inner_text()
    for raw in ("custodian_id", "condition_grade", "{", "None"):
        assert raw not in timeline.inner_text()
    shoot(page, "item-received")

    # when they move it and hand it to a colleague picked by name with a click
    page.locator("summary", has_text="移动").click()
    page.locator("#id_move_location").fill("金库 B-02-01")
    custodian = page.locator("#id_move_custodian")
    custodian.click()
    custodian.press_sequentially("李四", delay=50)
    colleague = page.locator("#id_move_custodian-options [role=option]", has_text="保管员李四")
    colleague.wait_for()
    colleague.click()
    page.locator("form[action$='/move'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    # then the timeline tells who took over and where it went, with names
    text = page.locator(".custody-timeline").inner_text()
    assert "保管员张三 → 保管员李四" in text
    assert "金库 A-01-03 → 金库 B-02-01" in text
    assert "custodian_id" not in text
    shoot(page, "item-moved")

    # and the list shows the item with its owner and value, and where the page is
    page.goto(f"{live_server.url}/custody/")
    listing = page.locator("main").inner_text()
    assert "王小明" in listing and "800,000.00 CNY" in listing
    assert re.search(r"1–1\s*\S+\s*1", listing)  # "1–1 of 1" in any language
    shoot(page, "custody-list")
    assert console_errors == []


def test_manager_registers_property_with_picker_and_typed_value(live_server, page, shoot):
    # given a relationship manager with a customer
    branch = user_services.branch_ensure(actor=None, code="HZ02", name="杭州二分行", city="杭州")
    manager = access_staff.user_create(
        actor=None,
        username="rm-property",
        password=PASSWORD,
        display_name="客户经理丙",
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    customer_register(
        actor=manager,
        data={
            "kind": "individual",
            "legal_name": "赵六",
            "identity_kind": "resident_id",
            "identity_number": RESIDENT_ID,
            "relationship_manager_id": manager.pk,
        },
    )

    # when they register a contract, picking the owner by clicking a match
    sign_in(page, f"{live_server.url}/holdings/new/?kind=contract", "rm-property", PASSWORD)
    owner = page.locator("#id_customer")
    owner.click()
    owner.press_sequentially("赵", delay=50)
    match = page.locator("#id_customer-options [role=option]", has_text="赵六")
    match.wait_for()
    match.click()
    page.locator("#id_identifier").fill("HT-2026-01")
    page.locator("#id_description").fill("商铺租赁合同")
    page.locator("#id_value").fill("1,234,567.80")
    page.locator("#id_valued_on").fill("2026-01-02")
    page.locator("#id_details-contract_number").fill("HT-2026-01")
    page.locator("#id_details-counterparty").fill("杭州某物业公司")
    shoot(page, "property-form")
    page.get_by_role("button", name="保存", exact=True).click()

    # then the property page shows the owner's name and the value with separators and currency
    page.wait_for_url(re.compile(r"/holdings/\d+/$"))
    facts = page.locator("dl.holdings-facts").first.inner_text()
    assert "赵六" in facts and "1,234,567.80 CNY" in facts
    shoot(page, "property-detail")

    # and the property list too
    page.goto(f"{live_server.url}/holdings/")
    listing = page.locator("main").inner_text()
    assert "赵六" in listing and "1,234,567.80 CNY" in listing
    shoot(page, "property-list")
