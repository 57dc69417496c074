"""Dismissals and merges: maker-checker, every link moved (consents, holdings) with the clash
rules, the survivor's gaps filled, the merged customer closed, exact audit entries."""

from __future__ import annotations

import pytest

from cpms.approvals.errors import SelfApproval
from cpms.approvals.models import ApprovalPolicy, ApprovalRequest
from cpms.approvals.services import approval_approve, approval_reject
from cpms.audit.models import AuditEntry
from cpms.core.errors import ValidationFailed
from cpms.customers.models import Consent, Customer
from cpms.customers.services import consent_grant, consent_withdraw
from cpms.holdings.models import Holding
from cpms.holdings.services import holding_register
from cpms.privacy.protected import pii_read
from cpms.quality import services
from cpms.quality.errors import (
    CandidateClosed,
    MergeClash,
    MergePending,
    MergeRefused,
    SurvivorInvalid,
)
from cpms.quality.models import CustomerMerge, DuplicateCandidate
from tests.quality.conftest import person


@pytest.fixture
def pair(rm1):
    """张三 (survivor, no email) and 章三 (to be merged, with email), same ID number."""
    survivor = person(rm1, "张三", sequence="001", phone="13800138000")
    merged = person(rm1, "章三", sequence="001", email="zhang@example.com", segment="wealth")
    services.duplicate_scan(actor=rm1)
    return survivor, merged, DuplicateCandidate.objects.get()


def _state() -> tuple:
    return (
        AuditEntry.objects.exclude(action="access.denied").count(),
        tuple(DuplicateCandidate.objects.values_list("status", flat=True).order_by("pk")),
        ApprovalRequest.objects.count(),
        CustomerMerge.objects.count(),
        tuple(Customer.objects.values_list("status", flat=True).order_by("pk")),
    )


def _actions(after_pk: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(pk__gt=after_pk).order_by("pk").values_list("action", flat=True)
    )


# --- dismiss ------------------------------------------------------------------------------


def test_candidate_dismiss__closes_the_pair_with_an_audit_entry(rm1, pair):
    _survivor, _merged, candidate = pair

    services.candidate_dismiss(actor=rm1, candidate=candidate, reason=" twins, not one person ")

    candidate.refresh_from_db()
    assert candidate.status == "dismissed"
    assert candidate.decided_by == rm1
    assert candidate.decision_reason == "twins, not one person"
    entry = AuditEntry.objects.latest("pk")
    assert entry.action == "quality.duplicate_dismissed"
    assert (entry.object_type, entry.object_id) == ("quality.candidate", str(candidate.pk))
    assert (entry.before, entry.after) == ({"status": "open"}, {"status": "dismissed"})
    assert entry.reason == "twins, not one person"


def test_candidate_dismiss__refusals_change_nothing(rm1, rm2, pair):
    _survivor, _merged, candidate = pair
    before = _state()

    with pytest.raises(ValidationFailed):
        services.candidate_dismiss(actor=rm1, candidate=candidate, reason="  ")
    with pytest.raises(Exception) as out_of_scope:
        services.candidate_dismiss(actor=rm2, candidate=candidate, reason="not mine")

    assert out_of_scope.value.status == 404
    assert _state() == before
    services.candidate_dismiss(actor=rm1, candidate=candidate, reason="twins")
    with pytest.raises(CandidateClosed):
        services.candidate_dismiss(actor=rm1, candidate=candidate, reason="again")


# --- merge request ------------------------------------------------------------------------


def test_customers_merge_request__submits_for_approval(rm1, pair):
    survivor, merged, candidate = pair
    mark = AuditEntry.objects.latest("pk").pk

    outcome = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    )

    request = outcome.approval_request
    assert outcome.merge is None
    assert request.action == "customers.merge"
    assert request.status == "pending"
    assert request.maker == rm1
    assert request.payload == {
        "candidate_id": candidate.pk,
        "survivor_id": survivor.pk,
        "survivor_number": survivor.customer_number,
        "merged_id": merged.pk,
        "merged_number": merged.customer_number,
    }
    assert request.summary == (
        f"Merge customer {merged.customer_number} into {survivor.customer_number}"
    )
    candidate.refresh_from_db()
    assert candidate.status == "merge_requested"
    assert candidate.approval_request == request
    assert _actions(mark) == ["approval.requested", "quality.merge_requested"]
    entry = AuditEntry.objects.latest("pk")
    assert entry.after == {
        "status": "merge_requested",
        "survivor_id": survivor.pk,
        "merged_id": merged.pk,
        "approval_request_id": request.pk,
    }
    assert Customer.objects.get(pk=merged.pk).status == "active"  # nothing merged yet
    with pytest.raises(MergePending):
        services.candidate_dismiss(actor=rm1, candidate=candidate, reason="changed my mind")


def test_customers_merge_request__the_survivor_must_be_one_of_the_pair(rm1, pair):
    _survivor, _merged, candidate = pair
    other = person(rm1, "王五", birth="19700101", sequence="031")
    before = _state()

    with pytest.raises(SurvivorInvalid):
        services.customers_merge_request(
            actor=rm1, candidate=candidate, survivor_id=other.pk, reason="x"
        )

    assert _state() == before


def test_merge__the_maker_cannot_approve_their_own_merge(rm1, pair, make_user):
    survivor, _merged, candidate = pair
    request = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    ).approval_request
    # even a maker who could decide approvals is refused on their own request
    from cpms.access.models import Grant, Role

    Grant.objects.create(user=rm1, role=Role.objects.get(code="compliance_officer"), scope="all")
    from cpms.access.checks import forget

    forget(rm1)
    before = _state()

    with pytest.raises(SelfApproval):
        approval_approve(actor=rm1, request_id=request.pk, reason="me")

    assert _state() == before


# --- the merge ----------------------------------------------------------------------------


def test_merge__approval_moves_every_link_with_the_clash_rules(rm1, compliance, pair):
    survivor, merged, candidate = pair
    # consents: both have "service" (clash: the merged one is withdrawn first), the merged one
    # also has an active "marketing" and a withdrawn "profiling"
    consent_grant(actor=rm1, customer=survivor, purpose="service", channel="branch")
    clashing = consent_grant(actor=rm1, customer=merged, purpose="service", channel="online")
    marketing = consent_grant(actor=rm1, customer=merged, purpose="marketing", channel="online")
    profiling = consent_grant(actor=rm1, customer=merged, purpose="profiling", channel="paper")
    consent_withdraw(actor=rm1, consent=profiling, channel="paper")
    # holdings: the same contract number on both (natural-key clash: renamed), one more
    holding_register(actor=rm1, customer=survivor, kind="contract", identifier="HT-1")
    same_key = holding_register(actor=rm1, customer=merged, kind="contract", identifier="HT-1")
    other = holding_register(actor=rm1, customer=merged, kind="contract", identifier="HT-2")
    request = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    ).approval_request
    mark = AuditEntry.objects.latest("pk").pk

    approval_approve(actor=compliance, request_id=request.pk, reason="checked the ID card")

    # every link moved
    assert Consent.objects.filter(customer=merged).count() == 0
    assert Holding.objects.filter(customer=merged).count() == 0
    clashing.refresh_from_db()
    marketing.refresh_from_db()
    assert clashing.customer_id == survivor.pk and clashing.withdrawn_at is not None
    assert marketing.customer_id == survivor.pk and marketing.withdrawn_at is None
    active = Consent.objects.filter(customer=survivor, withdrawn_at__isnull=True)
    assert sorted(active.values_list("purpose", flat=True)) == ["marketing", "service"]
    same_key.refresh_from_db()
    other.refresh_from_db()
    assert same_key.customer_id == survivor.pk
    assert same_key.identifier == f"HT-1 ~{merged.customer_number}"
    assert other.customer_id == survivor.pk and other.identifier == "HT-2"
    # the survivor's gaps are filled, the merged customer is closed
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert pii_read(survivor, "email") == "zhang@example.com"
    assert pii_read(survivor, "phone") == "+8613800138000"
    assert survivor.segment == "wealth"
    assert merged.status == "closed"
    # the records of the merge
    merge = CustomerMerge.objects.get()
    assert (merge.survivor, merge.merged, merge.candidate) == (survivor, merged, candidate)
    assert merge.approval_request == request
    assert merge.requested_by == rm1
    assert merge.moved == {"customers.consent.customer": 3, "holdings.holding.customer": 2}
    assert [(r["relation"], r["rule"], r["row"]) for r in merge.resolutions] == [
        ("customers.consent.customer", "withdrawn", clashing.pk),
        ("holdings.holding.customer", "renamed", same_key.pk),
    ]
    assert merge.filled == ["email", "segment"]
    candidate.refresh_from_db()
    assert candidate.status == "merged" and candidate.survivor == survivor
    request.refresh_from_db()
    assert request.status == "executed"
    assert request.result == {
        "merge_id": merge.pk,
        "survivor_id": survivor.pk,
        "merged_id": merged.pk,
    }
    assert _actions(mark) == [
        "approval.approved",
        "consent.withdrawn",
        "customer.updated",
        "customer.status_changed",
        "quality.customers_merged",
        "approval.executed",
    ]
    merged_entry = AuditEntry.objects.get(action="quality.customers_merged")
    assert merged_entry.actor_id == rm1.pk
    assert (merged_entry.object_type, merged_entry.object_id) == (
        "customers.customer",
        str(survivor.pk),
    )
    assert merged_entry.after["moved"] == merge.moved
    assert merged_entry.after["approved_by"] == compliance.pk
    assert merged_entry.after["approval_request_id"] == request.pk
    status_entry = AuditEntry.objects.get(action="customer.status_changed")
    assert status_entry.after == {"status": "closed", "merged_into": survivor.pk}
    updated = AuditEntry.objects.get(action="customer.updated", object_id=str(survivor.pk))
    assert sorted(updated.after) == ["email", "segment"]
    assert "zhang@example.com" not in str(updated.after)


def test_merge__rejection_leaves_everything_and_allows_a_new_request(rm1, compliance, pair):
    survivor, merged, candidate = pair
    request = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    ).approval_request

    approval_reject(actor=compliance, request_id=request.pk, reason="different people")

    assert Customer.objects.get(pk=merged.pk).status == "active"
    assert CustomerMerge.objects.count() == 0
    outcome = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=merged.pk, reason="other way round"
    )
    assert outcome.approval_request.pk != request.pk


def test_merge__runs_at_once_when_the_policy_is_disabled(rm1, pair):
    survivor, merged, candidate = pair
    ApprovalPolicy.objects.filter(action="customers.merge").update(enabled=False)

    outcome = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=merged.pk, reason="same person"
    )

    assert outcome.approval_request is None
    assert outcome.merge.survivor_id == merged.pk
    assert Customer.objects.get(pk=survivor.pk).status == "closed"
    assert CustomerMerge.objects.get().approval_request is None


def test_merge__refused_when_a_customer_was_closed_meanwhile(rm1, compliance, pair):
    from cpms.customers.services import customer_status_change

    survivor, merged, candidate = pair
    request = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    ).approval_request
    customer_status_change(actor=rm1, customer=merged, status="closed", reason="left")
    before = _state()

    with pytest.raises(MergeRefused):
        approval_approve(actor=compliance, request_id=request.pk, reason="ok")

    assert _state() == before
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


def test_merge__dismisses_other_open_pairs_of_the_merged_customer(rm1, compliance, pair):
    survivor, merged, candidate = pair
    third = person(rm1, "张叁", sequence="001")  # pairs with both
    services.duplicate_scan(actor=rm1)
    assert DuplicateCandidate.objects.count() == 3
    request = services.customers_merge_request(
        actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
    ).approval_request

    approval_approve(actor=compliance, request_id=request.pk)

    statuses = {
        (c.customer_a_id, c.customer_b_id): c.status for c in DuplicateCandidate.objects.all()
    }
    assert statuses == {
        (survivor.pk, merged.pk): "merged",
        (survivor.pk, third.pk): "open",
        (merged.pk, third.pk): "dismissed",
    }


def test_merge__a_clash_no_rule_resolves_refuses_the_whole_merge(rm1, pair, monkeypatch):
    """The clash has no text field to suffix (simulated): `quality.merge_clash` naming the
    relation, and nothing changed (not even the consent a clash rule already withdrew)."""
    from cpms.customers.services import merge as customer_merge

    survivor, merged, candidate = pair
    ApprovalPolicy.objects.filter(action="customers.merge").update(enabled=False)
    consent_grant(actor=rm1, customer=survivor, purpose="service", channel="branch")
    clashing = consent_grant(actor=rm1, customer=merged, purpose="service", channel="online")
    holding_register(actor=rm1, customer=survivor, kind="contract", identifier="HT-1")
    holding_register(actor=rm1, customer=merged, kind="contract", identifier="HT-1")
    monkeypatch.setattr(customer_merge, "_text_field", lambda model, names: None)
    before = _state()

    with pytest.raises(MergeClash) as caught:
        services.customers_merge_request(
            actor=rm1, candidate=candidate, survivor_id=survivor.pk, reason="same person"
        )

    assert caught.value.code == "quality.merge_clash"
    assert caught.value.fields == {"relation": "holdings.holding.customer"}
    assert _state() == before
    clashing.refresh_from_db()
    assert clashing.customer_id == merged.pk and clashing.withdrawn_at is None
