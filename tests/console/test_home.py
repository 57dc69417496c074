"""Role home pages: each role sees the figures of its work, counted within its scope, each a
link to the list it counts; the HTMX partial keeps them live. Navigation groups and badges."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.access import staff as access_staff
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.console.navigation import GROUP_CODES, NAVIGATION, navigation_groups
from cpms.console.selectors import home_page
from cpms.core.services import heartbeat_record
from cpms.customers.models import Customer
from cpms.customers.services import customer_register
from cpms.users.choices import Role
from tests.approvals.conftest import TEST_ACTION, FakeOperation
from tests.customers.conftest import OTHER_RESIDENT_ID, individual


def _figures(page):
    return {figure.key: figure for part in page.sections for figure in part.figures}


def _user_with(username, roles, branch):
    from tests.conftest import PASSWORD

    return access_staff.user_create(
        actor=None, username=username, password=PASSWORD, roles=roles, branch=branch
    )


@pytest.fixture
def rm1(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm1")


@pytest.fixture
def rm2(make_user):
    return make_user(Role.RELATIONSHIP_MANAGER, username="rm2")


@pytest.fixture
def customers(rm1, rm2):
    """rm1 has one customer due for a KYC review; rm2 has two."""
    mine = customer_register(actor=rm1, data=individual(relationship_manager_id=rm1.pk))
    theirs = [
        customer_register(
            actor=rm2,
            data=individual(
                legal_name=f"李四{n}",
                identity_number=identity,
                phone=f"1390000000{n}",
                email=f"li{n}@example.com",
                relationship_manager_id=rm2.pk,
            ),
        )
        for n, identity in ((1, OTHER_RESIDENT_ID), (2, "110101199003070011"))
    ]
    past = timezone.localdate() - datetime.timedelta(days=1)
    Customer.objects.filter(pk__in=[mine.pk] + [c.pk for c in theirs]).update(
        kyc_next_review_at=past
    )
    return mine, theirs


@pytest.mark.django_db
def test_relationship_manager__counts_only_their_own_customers(rm1, rm2, customers):
    mine = _figures(home_page(user=rm1))
    theirs = _figures(home_page(user=rm2))
    assert mine["my_customers"].value == 1
    assert mine["kyc_due"].value == 1
    assert theirs["my_customers"].value == 2
    assert theirs["kyc_due"].value == 2
    assert mine["my_customers"].url == reverse("customers:list")
    assert mine["custody_overdue"].url == "/custody/?overdue=1"
    assert mine["custody_overdue"].value == 0
    assert mine["incidents_to_notify"].value == 0
    assert [part.role for part in home_page(user=rm1).sections] == [Role.RELATIONSHIP_MANAGER]


@pytest.mark.django_db
def test_relationship_manager__home_page_shows_figures_as_links(rm1, customers):
    client = Client()
    client.force_login(rm1)
    content = client.get("/").content.decode()
    assert 'data-count="my_customers">1<' in content
    assert 'href="/custody/?overdue=1"' in content
    assert 'data-count="staff"' not in content
    partial = client.get(reverse("console:dashboard-counts")).content.decode()
    assert 'data-count="kyc_due">1<' in partial


@pytest.mark.django_db
def test_finance__sees_approvals_waiting_holds_breaks_and_loans(make_user):
    from cpms.approvals import registry, services

    finance = make_user(Role.FINANCE_OFFICER, username="fin1")
    maker = make_user(Role.RELATIONSHIP_MANAGER, username="maker")
    fake = FakeOperation()
    registry.register(TEST_ACTION, execute=fake.execute, describe=fake.describe, replace=True)
    services.approval_policy_ensure(actor=None, action=TEST_ACTION, approvers_required=1)
    services.approval_submit(
        actor=maker, action=TEST_ACTION, payload={"code": "N1", "name": "新"}, reason="r"
    )
    services.approval_submit(
        actor=finance, action=TEST_ACTION, payload={"code": "N2", "name": "新"}, reason="r"
    )
    figures = _figures(home_page(user=finance))
    assert figures["approvals_waiting"].value == 1  # not the one they made themselves
    assert figures["approvals_waiting"].url == "/approvals/?tab=awaiting"
    assert figures["holds_expiring"].value == 0
    assert figures["breaks_open"].value == 0
    assert figures["breaks_open"].url == "/reconciliation/breaks/?status=open"
    assert figures["loans_overdue"].value == 0
    assert "my_customers" not in figures


@pytest.mark.django_db
def test_compliance__reveals_exports_chain_and_quality(make_user):
    officer = make_user(Role.COMPLIANCE_OFFICER, username="comp1")
    with transaction.atomic():
        audit_record(actor=officer, action=AuditAction.PII_REVEALED, object_type="customer")
        audit_record(actor=officer, action=AuditAction.PII_REVEALED, object_type="customer")
        audit_record(actor=officer, action=AuditAction.EXPORT_DOWNLOADED, object_type="x")
    figures = _figures(home_page(user=officer))
    assert figures["pii_reveals_today"].value == 2
    assert figures["exports_today"].value == 1
    assert "action=pii.revealed" in figures["pii_reveals_today"].url
    assert str(figures["audit_chain"].value) == "Not verified yet"
    assert figures["data_quality"].url == reverse("quality:completeness")


@pytest.mark.django_db
def test_auditor_and_compliance__one_user_with_both_sees_figures_once(branch):
    user = _user_with("both", [Role.AUDITOR, Role.COMPLIANCE_OFFICER], branch)
    page = home_page(user=user)
    keys = [figure.key for part in page.sections for figure in part.figures]
    assert len(keys) == len(set(keys))


@pytest.mark.django_db
def test_administrator__staff_grants_and_scheduler(make_user):
    admin = make_user(Role.ADMINISTRATOR, username="admin1")
    heartbeat_record()
    page = home_page(user=admin)
    figures = _figures(page)
    assert figures["staff"].value == 1
    assert figures["pending_grants"].value == 0
    assert page.scheduler_beat_at is not None
    client = Client()
    client.force_login(admin)
    content = client.get(reverse("console:dashboard-counts")).content.decode()
    assert 'data-count="scheduler"' in content
    assert 'data-count="staff">1<' in content


@pytest.mark.django_db
def test_service__lookups_and_returns(make_user, rm1, customers):
    agent = make_user(Role.CUSTOMER_SERVICE, username="svc1")
    figures = _figures(home_page(user=agent))
    assert {"lookups", "purchases_today", "returns_today"} <= set(figures)
    assert figures["returns_today"].value == 0


@pytest.mark.django_db
def test_several_roles__see_each_section(branch):
    user = _user_with("multi", [Role.RELATIONSHIP_MANAGER, Role.CUSTOMER_SERVICE], branch)
    roles = [part.role for part in home_page(user=user).sections]
    assert roles == [Role.RELATIONSHIP_MANAGER, Role.CUSTOMER_SERVICE]


def test_navigation__every_item_belongs_to_a_group():
    for item in NAVIGATION:
        assert item.group in GROUP_CODES, item.url_name


@pytest.mark.django_db
def test_navigation__groups_and_approvals_badge(make_user):
    from cpms.approvals import registry, services

    finance = make_user(Role.FINANCE_OFFICER, username="fin1")
    maker = make_user(Role.RELATIONSHIP_MANAGER, username="maker")
    fake = FakeOperation()
    registry.register(TEST_ACTION, execute=fake.execute, describe=fake.describe, replace=True)
    services.approval_policy_ensure(actor=None, action=TEST_ACTION, approvers_required=1)
    services.approval_submit(
        actor=maker, action=TEST_ACTION, payload={"code": "N1", "name": "新"}, reason="r"
    )
    menu = navigation_groups(finance)
    assert next(group.code for group in menu) == "home"
    money = next(group for group in menu if group.code == "money")
    assert money.badge == 1
    assert menu.badge == 1
    client = Client()
    client.force_login(finance)
    content = client.get("/ledger/").content.decode()
    assert 'data-badge="approvals">1<' in content
    assert 'class="nav-group nav-current" data-group="money"' in content
    assert 'class="nav-toggle' in content or "nav-toggle" in content
