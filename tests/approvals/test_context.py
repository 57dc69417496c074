"""What a checker reads: the readable context of each kind of request, the fallback for an
operation without one, and that the payload, the idempotency key and minor units never show."""

# fixtures imported from the ledger's conftest are parameters here, by design
# ruff: noqa: F811

from __future__ import annotations

import pytest

from cpms.approvals import registry, selectors, services
from cpms.approvals.context import ApprovalContext
from cpms.approvals.models import ApprovalRequest
from cpms.customers.selectors import customer_masked
from cpms.ledger import services as ledger_services
from tests.approvals.conftest import TEST_ACTION
from tests.ledger.conftest import (  # noqa: F401 (fixtures)
    _fresh_key_cache,
    bank,
    cash,
    customer,
    fund,
    other_cash,
    other_customer,
    rm,
)


@pytest.fixture
def finance(make_user):
    return make_user("finance_officer", username="finance_a", display_name="财务甲")


@pytest.fixture
def held(finance, fund, cash, other_cash):
    """张三 has 1,000,000.00 CNY; finance asks to move 800,000.00 CNY to 李四 (held)."""
    from cpms.approvals.models import ApprovalPolicy

    policy = ApprovalPolicy.objects.filter(action="ledger.transfer")
    policy.update(enabled=False)  # the deposit itself posts at once
    fund(cash, 100_000_000)
    policy.update(enabled=True)
    outcome = ledger_services.transfer_post(
        actor=finance,
        data={
            "debit_account": cash.code,
            "credit_account": other_cash.code,
            "amount_minor": 80_000_000,
            "reference": "房款",
        },
        reason="客户指示转账",
    )
    [request_id] = outcome.approval_request_ids
    return ApprovalRequest.objects.get(pk=request_id)


@pytest.mark.django_db
def test_held_transfer__context_names_accounts_amount_balances_and_customers(
    held, checker, customer, other_customer
):
    context = registry.context(held.action, held.payload, viewer=checker)
    assert context.detailed is True
    assert context.amount == "800,000.00 CNY"
    [first, second] = context.customers
    assert (first.name, second.name) == ("张三", "李四")
    assert first.masked_id == customer_masked([customer])[0]["identity_number"]
    assert first.masked_id and "*" in first.masked_id
    assert first.risk_code == "medium"
    before_after = [(line.before, line.after) for line in context.balances]
    assert before_after == [
        ("1,000,000.00 CNY", "200,000.00 CNY"),
        ("0.00 CNY", "800,000.00 CNY"),
    ]
    assert context.balances[0].account.startswith("张三 · ")
    assert context.balances[0].account.endswith(" · CNY")
    # the stored one-line summary names people, not ledger codes
    assert "张三" in held.summary and "800,000.00 CNY" in held.summary
    assert held.payload["debit"] not in held.summary


@pytest.mark.django_db
def test_held_transfer__detail_page_shows_context_never_payload_or_key(
    held, checker, client_for, customer
):
    html = client_for(checker).get(f"/approvals/{held.pk}/").content.decode()
    assert "800,000.00 CNY" in html
    assert "1,000,000.00 CNY" in html and "200,000.00 CNY" in html
    assert "张三" in html and "李四" in html
    assert customer.customer_number in html
    assert customer_masked([customer])[0]["identity_number"] in html
    assert "Medium" in html
    assert "客户指示转账" in html  # the maker's reason
    assert "财务甲" in html  # the maker
    assert "0 / 1" in html  # the policy: approvals so far / needed
    key = held.payload["idempotency_key"]
    assert key and key not in html
    assert "80000000" not in html
    assert held.payload["debit"] not in html and held.payload["credit"] not in html
    assert "idempotency" not in html.lower()
    assert "{&#x27;" not in html and "{'" not in html
    assert "Amount (minor units)" not in html


@pytest.mark.django_db
def test_held_transfer__inbox_shows_formatted_amount_and_names(held, checker, client_for):
    html = client_for(checker).get("/approvals/?tab=awaiting").content.decode()
    assert "800,000.00 CNY" in html
    assert "张三" in html
    assert held.payload["idempotency_key"] not in html
    assert "80000000" not in html


@pytest.mark.django_db
def test_held_transfer__balances_hidden_once_decided(held, checker, client_for):
    services.approval_approve(actor=checker, request_id=held.pk, reason="ok")
    held.refresh_from_db()
    assert held.status == "executed"
    context = selectors.approval_context(user=checker, request=held)
    assert context.balances == ()
    html = client_for(checker).get(f"/approvals/{held.pk}/").content.decode()
    assert "800,000.00 CNY" in html
    assert "transfer_id" not in html  # the result dict is not shown either


@pytest.mark.django_db
def test_fallback__operation_without_context_shows_describe_text(submit, checker, client_for):
    request = submit()
    context = registry.context(request.action, request.payload, viewer=checker)
    assert (context.title, context.detailed) == ("Create branch N01 新分行1", False)
    html = client_for(checker).get(f"/approvals/{request.pk}/").content.decode()
    assert "Create branch N01 新分行1" in html
    assert "Payload" not in html
    assert "&#x27;code&#x27;" not in html and "'code'" not in html


@pytest.mark.django_db
def test_fallback__no_describe_gives_action_name_not_keys(operation, checker):
    registry.register(TEST_ACTION, execute=operation.execute, replace=True)
    context = registry.context(TEST_ACTION, {"code": "X", "secret": "s"}, viewer=checker)
    assert context.title == TEST_ACTION
    assert "secret" not in context.title and "{" not in context.title


@pytest.mark.django_db
def test_fallback__broken_context_falls_back_to_describe(operation, checker):
    def broken(payload, *, viewer):
        raise RuntimeError("boom")

    registry.register(
        TEST_ACTION,
        execute=operation.execute,
        describe=operation.describe,
        context=broken,
        replace=True,
    )
    context = registry.context(TEST_ACTION, {"code": "X1", "name": "分行"}, viewer=checker)
    assert isinstance(context, ApprovalContext)
    assert context.title == "Create branch X1 分行"


@pytest.mark.django_db
def test_context__given_by_operation_is_rendered(operation, submit, checker, client_for):
    from cpms.approvals.context import BalanceChange, Row

    def readable(payload, *, viewer):
        return ApprovalContext(
            title=f"新建分行 {payload['name']}",
            rows=(Row("分行代码", payload["code"]),),
            amount="1,234.50 CNY",
            balances=(BalanceChange("甲账户", "10.00 CNY", "5.00 CNY"),),
            warnings=("请核对地址",),
        )

    registry.register(
        TEST_ACTION,
        execute=operation.execute,
        describe=operation.describe,
        context=readable,
        replace=True,
    )
    request = submit()
    assert request.summary == "新建分行 新分行1"
    html = client_for(checker).get(f"/approvals/{request.pk}/").content.decode()
    expected = ("新建分行 新分行1", "分行代码", "1,234.50 CNY", "甲账户", "5.00 CNY", "请核对地址")
    for text in expected:
        assert text in html


@pytest.mark.django_db
def test_every_registered_action_with_a_policy_has_a_context():
    from cpms.approvals.models import ApprovalPolicy

    missing = [
        action
        for action in registry.registered_actions()
        if ApprovalPolicy.objects.filter(action=action).exists()
        and registry.get(action).context is None
    ]
    assert missing == []


@pytest.mark.django_db
def test_role_grant__context_names_person_role_and_sod_result(make_user, configurer):
    from cpms.access import services as access_services
    from cpms.access.models import Role

    person = make_user("relationship_manager", username="rm9", display_name="客户经理九")
    role = Role.objects.get(code="compliance_officer")
    context = registry.context(
        access_services.ROLE_GRANT_ACTION,
        {
            "user_id": person.pk,
            "username": person.username,
            "role": role.code,
            "scope": "all",
            "branch_id": None,
        },
        viewer=configurer,
    )
    values = {row.label: row.value for row in context.rows}
    assert "客户经理九" in context.title
    assert values["Role"] == str(role.display_name)
    assert values["Scope"] == "All"
    assert values["Separation of duties"].startswith(("Passed", "Conflict"))


@pytest.mark.django_db
def test_export__context_names_dataset_and_format(checker):
    context = registry.context(
        "privacy.bulk_export", {"dataset": "customers", "format": "xlsx"}, viewer=checker
    )
    values = {row.label: row.value for row in context.rows}
    assert values["Data set"] == "Customers"
    assert values["File format"] == "XLSX"
    assert context.warnings


@pytest.mark.django_db
def test_points__context_shows_customer_and_balance(checker, customer):
    context = registry.context(
        "points.adjust",
        {"customer_id": customer.pk, "points": 500, "reason": "补发积分"},
        viewer=checker,
    )
    assert context.amount == "+500 PTS"
    assert context.customer.name == "张三"
    assert [(line.before, line.after) for line in context.balances] == [("0 PTS", "500 PTS")]


@pytest.mark.django_db
def test_merge__context_shows_both_customers(checker, customer, other_customer):
    context = registry.context(
        "customers.merge",
        {
            "candidate_id": 0,
            "survivor_id": customer.pk,
            "survivor_number": customer.customer_number,
            "merged_id": other_customer.pk,
            "merged_number": other_customer.customer_number,
        },
        viewer=checker,
    )
    assert [block.name for block in context.customers] == ["张三", "李四"]
    assert all(block.masked_id for block in context.customers)


@pytest.mark.django_db
def test_policies__threshold_shown_and_typed_in_main_units(client_for, configurer):
    client = client_for(configurer)
    listing = client.get("/approvals/policies/").content.decode()
    assert "50,000.00 CNY" in listing and "5000000" not in listing
    form = client.get("/approvals/policies/ledger.transfer/").content.decode()
    assert 'value="50,000.00"' in form and "minor units" not in form
    response = client.post(
        "/approvals/policies/ledger.transfer/",
        {
            "enabled": "on",
            "approvers_required": 1,
            "currency": "CNY",
            "threshold": "1.234",
            "expiry_hours": 24,
            "approver_permission": "approvals.decide",
        },
    )
    assert response.status_code == 200  # too many decimals: refused, nothing changed
    from cpms.approvals.models import ApprovalPolicy

    assert ApprovalPolicy.objects.get(action="ledger.transfer").threshold_minor == 5_000_000


@pytest.mark.django_db
def test_role_grant__detail_page_reads_in_words(make_user, configurer, checker, client_for):
    from cpms.access import services as access_services
    from cpms.access.models import Role

    person = make_user("relationship_manager", username="rm8", display_name="客户经理八")
    role = Role.objects.get(code="auditor")
    request = access_services.grant_request(
        actor=configurer, user=person, role=role, reason="年度审计"
    )
    assert isinstance(request, ApprovalRequest)
    html = client_for(checker).get(f"/approvals/{request.pk}/").content.decode()
    assert "客户经理八" in html and str(role.display_name) in html
    assert "Separation of duties" in html
    assert "&#x27;user_id&#x27;" not in html and "user_id" not in html


@pytest.mark.django_db
def test_kyc_verify__context_shows_customer_and_review_dates(checker, customer):
    context = registry.context(
        "customers.kyc_verify",
        {"customer_id": customer.pk, "customer_number": customer.customer_number},
        viewer=checker,
    )
    assert context.customer.name == "张三"
    assert context.customer.masked_id
    labels = [row.label for row in context.rows]
    assert "Next review if approved" in labels


@pytest.mark.django_db
def test_dispose__missing_item_still_reads_in_words(checker):
    context = registry.context(
        "holdings.dispose",
        {"item_id": 0, "holding_number": "P-1", "description": "金条", "method": "拍卖"},
        viewer=checker,
    )
    assert context.title == "Dispose of P-1 金条"
    assert context.warnings
