"""Duplicate detection: exact through the blind indexes, fuzzy names (pinyin homophones,
organisation suffixes) with the same birth date or phone, re-scans, blocking and scope."""

from __future__ import annotations

import pytest

from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied
from cpms.customers.services import customer_status_change
from cpms.quality import matching, selectors, services
from cpms.quality.models import DuplicateCandidate
from tests.quality.conftest import company, person


def _pairs() -> dict[tuple[int, int], DuplicateCandidate]:
    return {(c.customer_a_id, c.customer_b_id): c for c in DuplicateCandidate.objects.all()}


# --- pure matching ------------------------------------------------------------------------


def test_normalise_name__drops_organisation_suffixes_and_orders_latin_words():
    assert matching.normalise_name("福建测试科技有限公司", organisation=True) == "福建测试科技"
    assert matching.normalise_name("福建测试科技股份有限公司", organisation=True) == "福建测试科技"
    assert matching.normalise_name("Acme Trading Co., Ltd.", organisation=True) == "acmetrading"
    assert matching.normalise_name("Cisco Systems", organisation=True) == "ciscosystems"
    assert matching.normalise_name("Smith,  John", organisation=False) == "johnsmith"
    assert matching.normalise_name("ＡＢＣ 公司", organisation=False) == "abc公司"


def test_name_similarity__pinyin_homophones_are_similar():
    first = matching.NameKey.of("张三", "zhangsan zs", organisation=False)
    second = matching.NameKey.of("章三", "zhangsan zs", organisation=False)
    other = matching.NameKey.of("李四", "lisi ls", organisation=False)

    assert matching.name_similarity(first, second) == 1.0
    assert matching.name_similarity(first, other) < matching.NAME_THRESHOLD


def test_find_duplicates__large_blocks_are_skipped():
    rows = [
        (pk, "individual", f"客户{pk}", f"kehu{pk} kh", None, "", "same-phone", "")
        for pk in range(1, matching.MAX_BLOCK + 2)
    ]

    found, skipped = matching.find_duplicates(rows)

    assert found == {}
    assert skipped == 2  # the phone block, once for the exact pass and once for names


# --- exact --------------------------------------------------------------------------------


def test_duplicate_scan__same_identity_number_is_flagged_with_an_audit_entry(rm1):
    first = person(rm1, "张三", sequence="001")
    second = person(rm1, "李四", sequence="001")  # same ID number, another name

    report = services.duplicate_scan(actor=rm1)

    assert (report.customers, report.flagged, report.refreshed) == (2, 1, 0)
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.customer_a_id, candidate.customer_b_id) == (first.pk, second.pk)
    assert candidate.reasons == ["identity_number"]
    assert candidate.score == 70
    assert candidate.status == "open"
    entry = AuditEntry.objects.get(action="quality.duplicate_flagged")
    assert entry.actor_id == rm1.pk
    assert entry.object_type == "quality.candidate"
    assert entry.object_id == str(candidate.pk)
    assert entry.after == {
        "customer_a": first.pk,
        "customer_b": second.pk,
        "reasons": ["identity_number"],
        "score": 70,
    }


def test_duplicate_scan__same_phone_and_email(rm1):
    first = person(rm1, "王五", sequence="011", phone="13800138000", email="a@example.com")
    second = person(
        rm1, "赵六", birth="19800505", sequence="013", phone="138 0013 8000", email="A@Example.com"
    )

    services.duplicate_scan(actor=rm1)

    candidate = _pairs()[(first.pk, second.pk)]
    assert candidate.reasons == ["email", "phone"]
    assert candidate.score == 65


# --- fuzzy --------------------------------------------------------------------------------


def test_duplicate_scan__pinyin_homophone_with_the_same_birth_date(rm1):
    first = person(rm1, "张三", sequence="001")
    second = person(rm1, "章三", sequence="011")  # another ID, same birth date

    services.duplicate_scan(actor=rm1)

    candidate = _pairs()[(first.pk, second.pk)]
    assert candidate.reasons == ["date_of_birth", "name"]
    assert candidate.name_similarity == 100
    assert candidate.score == 45


def test_duplicate_scan__similar_name_with_the_same_phone(rm1):
    first = person(rm1, "张三", sequence="001", phone="13800138000")
    second = person(rm1, "章三", birth="19851111", sequence="011", phone="13800138000")

    services.duplicate_scan(actor=rm1)

    assert _pairs()[(first.pk, second.pk)].reasons == ["name", "phone"]


def test_duplicate_scan__similar_name_alone_is_not_enough_for_individuals(rm1):
    person(rm1, "张三", birth="19900101", sequence="001")
    person(rm1, "章三", birth="19851111", sequence="011")  # homophone, other birth date
    person(rm1, "李四", birth="19900101", sequence="021")  # same birth date, other name

    report = services.duplicate_scan(actor=rm1)

    assert report.flagged == 0
    assert DuplicateCandidate.objects.count() == 0


def test_duplicate_scan__organisation_with_and_without_legal_suffix(rm1):
    first = company(rm1, "福建测试科技有限公司", serial="M000100Y4")
    second = company(rm1, "福建测试科技", serial="M000200Y4")
    company(rm1, "上海另一家贸易有限公司", serial="M000300Y4")

    services.duplicate_scan(actor=rm1)

    assert list(_pairs()) == [(first.pk, second.pk)]
    assert _pairs()[(first.pk, second.pk)].reasons == ["name"]


# --- re-scans -----------------------------------------------------------------------------


def test_duplicate_scan__a_rescan_stores_no_duplicate_pairs_and_writes_nothing(rm1):
    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")
    services.duplicate_scan(actor=rm1)
    before = (
        DuplicateCandidate.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )

    report = services.duplicate_scan(actor=rm1)

    assert (report.flagged, report.refreshed) == (0, 0)
    assert (
        DuplicateCandidate.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    ) == before


def test_duplicate_scan__refreshes_an_open_pair_when_reasons_change(rm1):
    from cpms.customers.services import customer_update

    first = person(rm1, "张三", sequence="001")
    second = person(rm1, "李四", sequence="001")
    services.duplicate_scan(actor=rm1)
    customer_update(actor=rm1, customer=second, data={"phone": "13800138000"})
    customer_update(actor=rm1, customer=first, data={"phone": "13800138000"})

    report = services.duplicate_scan(actor=rm1)

    assert (report.flagged, report.refreshed) == (0, 1)
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.reasons, candidate.score) == (["identity_number", "phone"], 100)
    entry = AuditEntry.objects.filter(action="quality.duplicate_flagged").latest("pk")
    assert entry.before == {"reasons": ["identity_number"], "score": 70}
    assert entry.after == {"reasons": ["identity_number", "phone"], "score": 100}


def test_duplicate_scan__never_reopens_a_dismissed_pair(rm1):
    person(rm1, "张三", sequence="001")
    person(rm1, "章三", sequence="001")
    services.duplicate_scan(actor=rm1)
    candidate = DuplicateCandidate.objects.get()
    services.candidate_dismiss(actor=rm1, candidate=candidate, reason="twins")

    services.duplicate_scan(actor=rm1)

    candidate.refresh_from_db()
    assert candidate.status == "dismissed"
    assert DuplicateCandidate.objects.count() == 1


def test_duplicate_scan__ignores_closed_customers(rm1):
    person(rm1, "张三", sequence="001")
    second = person(rm1, "章三", sequence="001")
    customer_status_change(actor=rm1, customer=second, status="closed", reason="left")

    report = services.duplicate_scan(actor=rm1)

    assert (report.customers, report.flagged) == (1, 0)


# --- scope --------------------------------------------------------------------------------


def test_duplicate_scan__an_actor_scans_only_their_scope(rm1, rm2):
    person(rm1, "张三", sequence="001")
    person(rm2, "章三", sequence="001")  # the same person, but rm2's customer

    assert services.duplicate_scan(actor=rm1).flagged == 0
    assert services.duplicate_scan(actor=rm2).flagged == 0
    assert services.duplicate_scan(actor=None).flagged == 1  # the system sees everything


def test_candidate_list__an_rm_sees_only_pairs_of_their_own_customers(rm1, rm2, compliance):
    own_a = person(rm1, "张三", sequence="001")
    own_b = person(rm1, "章三", sequence="001")
    person(rm2, "张三", sequence="001")  # pairs with both of rm1's customers
    services.duplicate_scan(actor=None)
    assert DuplicateCandidate.objects.count() == 3

    mine = list(selectors.candidate_list(user=rm1))
    theirs = list(selectors.candidate_list(user=rm2))
    everything = list(selectors.candidate_list(user=compliance))

    assert [(c.customer_a_id, c.customer_b_id) for c in mine] == [(own_a.pk, own_b.pk)]
    assert theirs == []
    assert len(everything) == 3
    mixed = DuplicateCandidate.objects.exclude(pk=mine[0].pk).first()
    with pytest.raises(Exception) as raised:
        selectors.candidate_get_for_user(user=rm1, pk=mixed.pk)
    assert getattr(raised.value, "status", None) == 404


def test_duplicate_scan__refused_without_the_permission(finance):
    before = AuditEntry.objects.exclude(action="access.denied").count()

    with pytest.raises(PermissionDenied):
        services.duplicate_scan(actor=finance)

    assert AuditEntry.objects.exclude(action="access.denied").count() == before
