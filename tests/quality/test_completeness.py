"""Completeness score, stale records and the nightly summary (service, job, audit)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied
from cpms.customers.models import Customer
from cpms.customers.services import consent_grant, customer_status_change
from cpms.holdings.services import holding_register
from cpms.quality import selectors, services
from cpms.quality.models import QualitySummary
from tests.quality.conftest import company, person


def _score(user, customer) -> int:
    return selectors.completeness_list(user=user).get(pk=customer.pk).completeness


def test_completeness__weights_add_up_to_100():
    assert sum(selectors.WEIGHTS.values()) == 100


def test_completeness__a_complete_individual_scores_100(rm1):
    customer = person(
        rm1,
        "张三",
        phone="13800138000",
        email="z@example.com",
        address="杭州市",
        kyc_status="verified",
        kyc_reviewed_at=timezone.localdate(),
    )
    consent_grant(actor=rm1, customer=customer, purpose="service", channel="branch")

    assert _score(rm1, customer) == 100
    _row, result = selectors.completeness_get(user=rm1, customer_id=customer.pk)
    assert result.score == 100
    assert all(present for _name, _points, present in result.items)


def test_completeness__missing_elements_lower_the_score(rm1):
    customer = person(rm1, "张三", phone="13800138000")  # no email, address, KYC, consent

    # phone 15 + date of birth 10 (from the ID) + relationship manager 10
    assert _score(rm1, customer) == 35
    _row, result = selectors.completeness_get(user=rm1, customer_id=customer.pk)
    assert result.score == 35
    assert [name for name, _points, present in result.items if not present] == [
        "email",
        "address",
        "kyc",
        "consent",
    ]


def test_completeness__date_of_birth_does_not_apply_to_organisations(rm1):
    customer = company(rm1, "福建测试科技有限公司")

    # relationship manager 10 of the 90 points that apply
    assert _score(rm1, customer) == 11
    _row, result = selectors.completeness_get(user=rm1, customer_id=customer.pk)
    assert "date_of_birth" not in [name for name, _points, _present in result.items]
    assert result.score == 11


def test_completeness__overdue_kyc_earns_nothing(rm1):
    customer = person(rm1, "张三", kyc_status="verified", kyc_reviewed_at=datetime.date(2020, 1, 1))

    assert _score(rm1, customer) == 20


def test_completeness_list__scope_and_lowest_first(rm1, rm2):
    low = person(rm1, "张三", sequence="001")
    high = person(rm1, "李四", sequence="011", phone="13800138000")
    person(rm2, "王五", sequence="021")

    rows = list(selectors.completeness_list(user=rm1).order_by("completeness", "pk"))

    assert [row.pk for row in rows] == [low.pk, high.pk]


def test_stale_list__reasons(rm1):
    fresh = person(rm1, "张三", sequence="001")
    old = person(rm1, "李四", sequence="011")
    overdue = person(
        rm1,
        "王五",
        sequence="021",
        kyc_status="verified",
        kyc_reviewed_at=datetime.date(2020, 1, 1),
    )
    dormant = person(rm1, "赵六", sequence="031")
    holding_register(actor=rm1, customer=dormant, kind="contract", identifier="HT-9")
    customer_status_change(actor=rm1, customer=dormant, status="dormant", reason="quiet")
    Customer.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=400)
    )

    rows = {row.pk: selectors.stale_reasons(row) for row in selectors.stale_list(user=rm1)}

    assert fresh.pk not in rows
    assert rows[old.pk] == ["not_updated"]
    assert rows[overdue.pk] == ["kyc_overdue"]
    assert rows[dormant.pk] == ["dormant_with_property"]
    only = selectors.stale_list(user=rm1, reason="kyc_overdue")
    assert [row.pk for row in only] == [overdue.pk]


# --- summary ------------------------------------------------------------------------------


def test_quality_summary_write__figures_per_branch_and_audit(
    rm1, compliance, far_branch, make_user
):
    far_rm = make_user("relationship_manager", username="rm-far", branch=far_branch)
    person(rm1, "张三", sequence="001", phone="13800138000")  # 35
    person(rm1, "章三", sequence="001")  # 20 (date of birth + manager)
    person(far_rm, "李四", birth="19800101", sequence="011", branch_id=far_branch.pk)  # 20
    services.duplicate_scan(actor=None)
    day = timezone.localdate()

    summary = services.quality_summary_write(actor=compliance)

    assert summary.day == day
    assert (summary.customers, summary.open_duplicates, summary.stale) == (3, 1, 0)
    assert summary.average_completeness == Decimal("25.0")
    assert summary.per_branch == {
        "FAR": {"customers": 1, "average_completeness": "20.0", "open_duplicates": 0, "stale": 0},
        "T01": {"customers": 2, "average_completeness": "27.5", "open_duplicates": 1, "stale": 0},
    }
    entry = AuditEntry.objects.latest("pk")
    assert entry.action == "quality.summary_written"
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "quality.summary",
        day.isoformat(),
        compliance.pk,
    )
    assert entry.before is None
    assert entry.after == {
        "customers": 3,
        "average_completeness": "25.0",
        "open_duplicates": 1,
        "stale": 0,
        "branches": 2,
    }
    # a second run the same day rewrites the row
    services.quality_summary_write(actor=None)
    assert QualitySummary.objects.count() == 1
    assert AuditEntry.objects.latest("pk").before == entry.after


def test_quality_summary_write__needs_a_scope_over_every_customer(rm1):
    before = (
        QualitySummary.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )

    with pytest.raises(PermissionDenied):
        services.quality_summary_write(actor=rm1)

    assert (
        QualitySummary.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_nightly_job__scans_then_writes_the_summary(rm1):
    from cpms.quality.tasks import nightly_quality

    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")

    nightly_quality.call_local()

    summary = QualitySummary.objects.get()
    assert (summary.customers, summary.open_duplicates) == (2, 1)
    flagged = AuditEntry.objects.get(action="quality.duplicate_flagged")
    written = AuditEntry.objects.get(action="quality.summary_written")
    assert flagged.actor_id is None and written.actor_id is None
    assert written.channel == "job"


def test_overview__live_figures_of_the_scope(rm1, rm2):
    person(rm1, "张三", sequence="001", phone="13800138000")
    person(rm1, "章三", sequence="001")
    person(rm2, "李四", sequence="011")
    services.duplicate_scan(actor=None)

    assert selectors.overview(user=rm1) == {
        "customers": 2,
        "average_completeness": 27.5,
        "open_duplicates": 1,
        "stale": 0,
    }
    assert selectors.summary_list(user=rm1).count() == 0
