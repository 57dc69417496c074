"""Acceptance in a real browser: finance officer A posts a transfer above the approval threshold;
finance officer B sees the count on the Approvals menu, opens the request and reads it in
business terms (customer name, masked ID number, risk rating, accounts by name, the amount and
the balances before and after), approves it, and A sees it carried out."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.utils import translation

from cpms.access import staff as access_staff
from cpms.approvals.models import ApprovalPolicy, ApprovalRequest
from cpms.customers.selectors import customer_masked
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


def _pick(page, field: str, typed: str, label: str) -> None:
    box = page.locator(f"#id_{field}")
    box.click()
    box.press_sequentially(typed, delay=50)
    option = page.locator(f"#id_{field}-options [role=option]", has_text=label)
    option.first.wait_for()
    option.first.click()
    assert box.input_value() == label


def test_checker_approves_a_large_transfer_reading_it_in_business_terms(
    live_server, page, browser, shoot, enrol
):
    # given two customers, 张三 with 1,000,000.00 CNY, and two finance officers
    branch = user_services.branch_ensure(actor=None, code="SH01", name="上海分行", city="上海")
    manager = access_staff.user_create(
        actor=None,
        username="rm-approvals",
        password=PASSWORD,
        roles=[Role.RELATIONSHIP_MANAGER.value],
        branch=branch,
    )
    officer_a, officer_b = (
        access_staff.user_create(
            actor=None,
            username=username,
            password=PASSWORD,
            display_name=name,
            email=f"{username}@example.com",
            roles=[Role.FINANCE_OFFICER.value],
            branch=branch,
        )
        for username, name in (("finance-a", "财务甲"), ("finance-b", "财务乙"))
    )
    secret_a, secret_b = enrol(officer_a), enrol(officer_b)
    zhang, li = (
        customer_register(
            actor=manager,
            data={
                "kind": "individual",
                "legal_name": name,
                "identity_kind": "resident_id",
                "identity_number": number,
                "risk_rating": risk,
                "relationship_manager_id": manager.pk,
            },
        )
        for name, number, risk in (
            ("张三", RESIDENT_ID, "high"),
            ("李四", OTHER_RESIDENT_ID, "low"),
        )
    )
    with transaction.atomic():
        cash = ledger.customer_account(
            customer=zhang, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY"
        )
        ledger.customer_account(customer=li, purpose=AccountPurpose.CUSTOMER_CASH, asset_code="CNY")
        bank = ledger.internal_account(asset_code="CNY", purpose=AccountPurpose.CLIENT_BANK)
    policy = ApprovalPolicy.objects.filter(action="ledger.transfer")
    assert policy.get().threshold_minor == 5_000_000  # 50,000.00 CNY
    policy.update(enabled=False)  # the opening deposit posts at once
    ledger.transfer_post(
        actor=officer_a,
        data={"debit_account": bank.code, "credit_account": cash.code, "amount_minor": 100_000_000},
    )
    policy.update(enabled=True)
    masked_id = customer_masked([zhang])[0]["identity_number"]
    with translation.override("zh-hans"):
        high_risk = str(zhang.get_risk_rating_display())
        zhang_cash = f"张三 · {AccountPurpose.CUSTOMER_CASH.label} · CNY"
        li_cash = f"李四 · {AccountPurpose.CUSTOMER_CASH.label} · CNY"
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    # when A posts 800,000.00 CNY from 张三 to 李四 (above the threshold: it needs approval)
    sign_in(page, f"{live_server.url}/ledger/transfers/new/", "finance-a", PASSWORD, secret_a)
    page.wait_for_url(re.compile(r"/ledger/transfers/new/$"))
    _pick(page, "debit_account", "张三", zhang_cash)
    _pick(page, "credit_account", "李四", li_cash)
    page.locator("#id_amount").fill("800,000.00")
    page.locator("#id_reference").fill("购房款")
    page.locator("#id_reason").fill("客户书面指示转账")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    request = ApprovalRequest.objects.get(action="ledger.transfer")
    assert request.status == "pending"
    key = request.payload["idempotency_key"]

    # then B sees one request waiting on the Approvals menu
    checker = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page_b = checker.new_page()
    page_b.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    sign_in(page_b, f"{live_server.url}/approvals/", "finance-b", PASSWORD, secret_b)
    page_b.wait_for_url(re.compile(r"/approvals/"))
    assert page_b.locator('[data-badge="approvals"]').first.text_content().strip() == "1"
    inbox = page_b.locator("main table").inner_text()
    assert "800,000.00 CNY" in inbox and "张三" in inbox
    assert key not in page_b.content() and cash.code not in inbox
    shoot(page_b, "inbox")

    # and opens it: the customer, the accounts by name, the amount and the balances
    page_b.locator("main table a", has_text="张三").first.click()
    page_b.wait_for_url(re.compile(rf"/approvals/{request.pk}/$"))
    main = page_b.locator("main").inner_text()
    for text in (
        "张三",
        masked_id,
        high_risk,
        zhang.customer_number,
        zhang_cash,
        li_cash,
        "800,000.00 CNY",
        "1,000,000.00 CNY",  # 张三 now
        "200,000.00 CNY",  # 张三 after approval
        "0.00 CNY",  # 李四 now
        "财务甲",  # the maker
        "客户书面指示转账",  # their reason
        "购房款",
    ):
        assert text in main, text
    html = page_b.content()
    for raw in (key, "80000000", cash.code, bank.code, "idempotency", "{&#x27;"):
        assert raw not in html, raw
    shoot(page_b, "approval-detail")

    # when B approves
    page_b.locator("#decision-reason").fill("已核对客户指示")
    page_b.locator("form.approval-decision button[type=submit]").first.click()
    page_b.wait_for_url(re.compile(rf"/approvals/{request.pk}/$"))
    page_b.locator(".approval-status-executed").first.wait_for()
    assert page_b.locator('[data-badge="approvals"]').count() == 0
    shoot(page_b, "approved")
    checker.close()

    # then A sees the request executed and 张三's balance moved
    page.goto(f"{live_server.url}/approvals/{request.pk}/")
    page.locator(".approval-status-executed").first.wait_for()
    assert "财务乙" in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/ledger/")
    table = page.locator("main table").inner_text()
    assert "200,000.00 CNY" in table and "800,000.00 CNY" in table
    page.goto(f"{live_server.url}/notifications/")
    assert f"#{request.pk}" in page.locator("main").inner_text()
    shoot(page, "maker-notified")
    assert console_errors == []
