"""Acceptance in a real browser: a finance officer (with two-factor sign-in) posts a transfer
from a customer's money account to the firm's client-money bank account by typing the
customer's name in the account picker and the amount as "1,250.50", then sees the transfer by
names with the amount formatted, and the accounts list by customer name."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from cpms.access import staff as access_staff
from cpms.customers.services import customer_register
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
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


def test_finance_officer_posts_a_transfer_by_customer_name(live_server, page, shoot, enrol):
    # given a customer with money in their account, another customer, and a finance officer
    branch = user_services.branch_ensure(actor=None, code="HZ01", name="杭州分行", city="杭州")
    manager = access_staff.user_create(
        actor=None,
        username="rm-ledger",
        password=PASSWORD,
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    officer = access_staff.user_create(
        actor=None,
        username="finance-ledger",
        password=PASSWORD,
        display_name="财务王五",
        roles=[Role.FINANCE_OFFICER.value],
        branch=branch,
    )
    secret = enrol(officer)
    customers = [
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
        for name, number in (("王小明", RESIDENT_ID), ("王大力", OTHER_RESIDENT_ID))
    ]
    with transaction.atomic():
        cash = ledger.customer_account(
            customer=customers[0], purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )
        ledger.customer_account(
            customer=customers[1], purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )
        bank = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
    ledger.transfer_post(
        actor=officer,
        data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 500_000},
    )
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when the officer opens the transfer form and picks the customer's account by name
    sign_in(page, f"{live_server.url}/ledger/transfers/new/", "finance-ledger", PASSWORD, secret)
    page.wait_for_url(re.compile(r"/ledger/transfers/new/$"))
    debit = page.locator("#id_debit_account")
    debit.click()
    debit.press_sequentially("小明", delay=50)
    options = page.locator("#id_debit_account-options [role=option]")
    options.first.wait_for()
    assert options.count() == 1
    assert "王小明 · 客户资金 · CNY" in options.first.inner_text()
    debit.press("ArrowDown")
    debit.press("Enter")
    assert debit.input_value() == "王小明 · 客户资金 · CNY"
    # and the firm's bank account by its readable name, with a click
    credit = page.locator("#id_credit_account")
    credit.click()
    credit.press_sequentially("银行", delay=50)
    bank_option = page.locator(
        "#id_credit_account-options [role=option]", has_text="客户资金银行账户"
    )
    bank_option.first.wait_for()
    bank_option.first.click()
    page.locator("#id_amount").fill("1,250.50")
    page.locator("#id_reference").fill("柜台取现")
    assert "idempotency" not in page.locator("main").inner_text().lower()
    shoot(page, "transfer-form")
    page.locator("main form button[type=submit]").click()

    # then the transfer page names both accounts and shows the amount formatted
    page.wait_for_url(re.compile(r"/ledger/transfers/\d+/$"))
    facts = page.locator("dl.ledger-facts").inner_text()
    assert "王小明 · 客户资金 · CNY" in facts
    assert "客户资金银行账户 · CNY" in facts
    assert "1,250.50 CNY" in facts
    assert "柜台取现" in facts
    assert "财务王五" in facts
    for raw in (cash.code, bank.code, "{", "125050", "console:"):
        assert raw not in facts, raw
    shoot(page, "transfer-detail")

    # and the accounts list shows the customers by name with their balances
    page.goto(f"{live_server.url}/ledger/")
    table = page.locator("main table").inner_text()
    assert "王小明" in table and "王大力" in table
    assert "3,749.50 CNY" in table  # 5,000.00 less 1,250.50
    assert cash.code not in table
    assert re.search(r"1–3 (of|共)|第 1–3 条", page.locator("main").inner_text())
    shoot(page, "accounts")
    assert console_errors == []
