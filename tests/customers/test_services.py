"""Services and selectors of the customer registry."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.customers import selectors, services
from cpms.customers.errors import (
    ConsentAlreadyGranted,
    ConsentAlreadyWithdrawn,
    OutOfScope,
    StatusTransitionRefused,
)
from cpms.customers.models import Consent, Customer
from cpms.privacy.protected import pii_read
from tests.customers.conftest import (
    EMAIL,
    OTHER_RESIDENT_ID,
    RESIDENT_ID,
    USCC,
    individual,
    organisation,
)


def state() -> tuple[int, int, int]:
    return (
        Customer.objects.count(),
        Consent.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


# registration ------------------------------------------------------------------------------


def test_customer_register__individual_is_encrypted_indexed_and_audited(rm1):
    customer = services.customer_register(
        actor=rm1, data=individual(relationship_manager_id=rm1.pk)
    )

    customer.refresh_from_db()
    assert customer.customer_number == f"C{customer.pk:08d}"
    assert customer.name_pinyin == "zhangsan zs"
    assert customer.date_of_birth == datetime.date(1949, 12, 31)
    assert customer.branch_id == rm1.branch_id
    assert customer.status == "active"
    assert customer.tags == ["vip", "online"]
    assert customer.kyc_status == "pending"
    assert customer.kyc_next_review_at is None
    assert RESIDENT_ID not in customer.identity_number_encrypted
    assert customer.identity_number_index != ""
    assert pii_read(customer, "identity_number") == RESIDENT_ID
    assert pii_read(customer, "phone") == "+8613800138000"
    assert pii_read(customer, "email") == "Zhang.San@example.com"
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.object_type == "customers.customer"
    assert entry.object_id == str(customer.pk)
    assert entry.actor_id == rm1.pk
    assert entry.after["legal_name"] == "张三"
    for name in ("identity_number", "phone", "email", "address"):
        assert entry.after[name].startswith("sha256:")
    text = str(entry.before) + str(entry.after)
    for clear in (RESIDENT_ID, "13800138000", "example.com", "文三路"):
        assert clear not in text


def test_customer_register__organisation_with_uscc(rm1, kyc_four_eyes_off):
    customer = services.customer_register(
        actor=rm1,
        data=organisation(
            relationship_manager_id=rm1.pk,
            kyc_status="verified",
            kyc_reviewed_at=datetime.date(2024, 2, 29),
        ),
    )

    assert customer.kind == "organisation"
    assert pii_read(customer, "identity_number") == USCC
    assert customer.date_of_birth is None
    assert customer.kyc_next_review_at == datetime.date(2025, 2, 28)  # high risk: 1 year


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"identity_number": "110105194912310021"}, "identity_number"),  # check digit
        ({"identity_number": "1101051949"}, "identity_number"),  # length
        ({"identity_kind": "passport", "identity_number": "A1"}, "identity_number"),
        ({"identity_kind": "uscc"}, "identity_kind"),  # not for an individual
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"date_of_birth": "1950-01-01"}, "date_of_birth"),  # differs from the ID number
        ({"relationship_manager_id": 999999}, "relationship_manager_id"),
        ({"kyc_reviewed_at": "2999-01-01"}, "kyc_reviewed_at"),
    ],
)
def test_customer_register__invalid_individual_writes_nothing(rm1, overrides, field):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.customer_register(
            actor=rm1, data=individual(**{"relationship_manager_id": rm1.pk, **overrides})
        )

    assert list(raised.value.fields) == [field]
    assert state() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"identity_number": "91350100M000100Y44"},
            "identity_number",
            "The check character of this Unified Social Credit Code is wrong; "
            "check for a typing error.",
        ),
        (
            {"date_of_birth": "2000-01-01"},
            "date_of_birth",
            "An organisation has no date of birth.",
        ),
        (
            {"identity_kind": "resident_id"},
            "identity_kind",
            "This identity document does not fit this kind of customer.",
        ),
    ],
)
def test_customer_register__invalid_organisation_has_a_clear_message(
    rm1, overrides, field, message
):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.customer_register(
            actor=rm1, data=organisation(relationship_manager_id=rm1.pk, **overrides)
        )

    assert raised.value.fields == {field: message}
    assert state() == before


def test_customer_register__schema_error_is_a_field_error(rm1):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.customer_register(actor=rm1, data=individual(kind="robot"))

    assert list(raised.value.fields) == ["kind"]
    assert state() == before


def test_customer_register__warning_is_stored(rm1):
    customer = services.customer_register(
        actor=rm1,
        data=individual(
            relationship_manager_id=rm1.pk,
            identity_kind="passport",
            identity_number="DE1234567",
            identity_country="CN",
        ),
    )

    assert [warning["code"] for warning in customer.data_warnings] == ["passport.cn_format"]
    assert customer.identity_country == "CN"
    assert customer.date_of_birth is None


def test_customer_register__outside_own_scope_is_refused(rm1, rm2):
    before = state()

    with pytest.raises(OutOfScope):
        services.customer_register(actor=rm1, data=individual(relationship_manager_id=rm2.pk))

    assert state() == before


def test_customer_register__without_permission_is_refused(finance):
    before = state()

    with pytest.raises(PermissionDenied):
        services.customer_register(actor=finance, data=individual())

    assert state() == before


# search and scope --------------------------------------------------------------------------


def test_customer_list__finds_id_number_through_the_blind_index_with_any_spacing(
    compliance, customer
):
    for typed in (RESIDENT_ID, "110105 19491231 002x", "１１０１０５１９４９１２３１００２Ｘ"):
        assert list(selectors.customer_list(user=compliance, q=typed)) == [customer]
    assert list(selectors.customer_list(user=compliance, q=OTHER_RESIDENT_ID)) == []


def test_customer_list__finds_phone_and_email_exactly(compliance, customer):
    assert list(selectors.customer_list(user=compliance, q="+86 138 0013 8000")) == [customer]
    assert list(selectors.customer_list(user=compliance, q=EMAIL.lower())) == [customer]


def test_customer_list__finds_name_and_pinyin(compliance, customer, rm1):
    other = services.customer_register(actor=rm1, data=organisation(relationship_manager_id=rm1.pk))

    assert list(selectors.customer_list(user=compliance, q="张")) == [customer]
    assert list(selectors.customer_list(user=compliance, q="zhangsan")) == [customer]
    assert list(selectors.customer_list(user=compliance, q="Zhang San")) == [customer]
    assert list(selectors.customer_list(user=compliance, q="zs")) == [customer]
    assert list(selectors.customer_list(user=compliance, q="keji")) == [other]
    assert list(selectors.customer_list(user=compliance, q=customer.customer_number)) == [customer]


def test_customer_list__relationship_manager_sees_only_assigned(rm1, rm2, customer):
    own = services.customer_register(
        actor=rm2,
        data=individual(
            legal_name="李四",
            phone="13900139000",
            relationship_manager_id=rm2.pk,
            identity_number=OTHER_RESIDENT_ID,
        ),
    )

    assert list(selectors.customer_list(user=rm1)) == [customer]
    assert list(selectors.customer_list(user=rm2)) == [own]
    with pytest.raises(NotFound):
        selectors.customer_get_for_user(user=rm2, pk=customer.pk)


def test_customer_get_for_user__other_branch_is_not_found(make_user, far_branch, customer):
    from cpms.users.choices import Role

    far_finance = make_user(Role.FINANCE_OFFICER, username="finance-far", branch=far_branch)

    assert list(selectors.customer_list(user=far_finance)) == []
    with pytest.raises(NotFound):
        selectors.customer_get_for_user(user=far_finance, pk=customer.pk)


# update and assignment ---------------------------------------------------------------------


def test_customer_update__changes_phone_and_risk_and_audits_hashes(rm1, customer):
    services.customer_update(
        actor=rm1, customer=customer, data={"phone": "13912345678", "risk_rating": "high"}
    )

    customer.refresh_from_db()
    assert pii_read(customer, "phone") == "+8613912345678"
    assert customer.risk_rating == "high"
    entry = AuditEntry.objects.get(action="customer.updated")
    assert sorted(entry.after) == ["phone", "risk_rating"]
    assert entry.before["risk_rating"] == "medium"
    assert entry.after["phone"].startswith("sha256:")
    assert entry.before["phone"] != entry.after["phone"]
    assert "13912345678" not in str(entry.after)


def test_customer_update__kyc_review_date_follows_risk_rating(rm1, customer, kyc_four_eyes_off):
    services.customer_update(
        actor=rm1,
        customer=customer,
        data={"kyc_status": "verified", "kyc_reviewed_at": "2024-05-01"},
    )
    customer.refresh_from_db()
    assert customer.kyc_next_review_at == datetime.date(2026, 5, 1)  # medium: 2 years

    services.customer_update(actor=rm1, customer=customer, data={"risk_rating": "low"})
    customer.refresh_from_db()
    assert customer.kyc_next_review_at == datetime.date(2027, 5, 1)


def test_customer_update__invalid_email_changes_nothing(rm1, customer):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.customer_update(actor=rm1, customer=customer, data={"email": "x@"})

    assert raised.value.fields == {"email": "This is not a valid email address."}
    customer.refresh_from_db()
    assert pii_read(customer, "email") == "Zhang.San@example.com"
    assert state() == before


def test_customer_update__no_change_writes_no_audit(rm1, customer):
    before = state()

    services.customer_update(actor=rm1, customer=customer, data={"legal_name": "张三"})

    assert state() == before


def test_customer_update__out_of_scope_is_not_found(rm2, customer):
    before = state()

    with pytest.raises(NotFound):
        services.customer_update(actor=rm2, customer=customer, data={"segment": "x"})

    assert state() == before


def test_customer_assign__moves_and_audits(rm1, compliance, customer, far_branch):
    # the relationship manager may not give the customer away (it would leave their scope)
    before = state()
    with pytest.raises(OutOfScope):
        services.customer_assign(
            actor=rm1, customer=customer, branch=far_branch, relationship_manager=None
        )
    assert state() == before

    services.customer_assign(
        actor=rm1, customer=customer, branch=far_branch, relationship_manager=rm1, reason="move"
    )

    customer.refresh_from_db()
    assert customer.branch_id == far_branch.pk
    entry = AuditEntry.objects.get(action="customer.assigned")
    assert entry.after == {"branch_id": far_branch.pk, "relationship_manager_id": rm1.pk}
    assert entry.reason == "move"


# status ------------------------------------------------------------------------------------


def test_customer_status_change__allowed_transitions(rm1, customer):
    services.customer_status_change(actor=rm1, customer=customer, status="dormant", reason="idle")
    services.customer_status_change(actor=rm1, customer=customer, status="active", reason="back")
    services.customer_status_change(actor=rm1, customer=customer, status="closed", reason="left")

    customer.refresh_from_db()
    assert customer.status == "closed"
    entries = AuditEntry.objects.filter(action="customer.status_changed").order_by("pk")
    assert [(e.before["status"], e.after["status"], e.reason) for e in entries] == [
        ("active", "dormant", "idle"),
        ("dormant", "active", "back"),
        ("active", "closed", "left"),
    ]


@pytest.mark.parametrize(("start", "target"), [("closed", "active"), ("active", "active")])
def test_customer_status_change__refused_transition(rm1, customer, start, target):
    if start == "closed":
        services.customer_status_change(actor=rm1, customer=customer, status="closed", reason="x")
    before = state()

    with pytest.raises(StatusTransitionRefused):
        services.customer_status_change(actor=rm1, customer=customer, status=target, reason="y")

    customer.refresh_from_db()
    assert customer.status == start
    assert state() == before


def test_customer_status_change__reason_required(rm1, customer):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.customer_status_change(actor=rm1, customer=customer, status="dormant", reason=" ")

    assert list(raised.value.fields) == ["reason"]
    assert state() == before


# consents ----------------------------------------------------------------------------------


def test_consent__history_is_kept_across_withdraw_and_grant_again(rm1, customer):
    first = services.consent_grant(
        actor=rm1, customer=customer, purpose="marketing", channel="branch"
    )
    with pytest.raises(ConsentAlreadyGranted):
        services.consent_grant(actor=rm1, customer=customer, purpose="marketing", channel="online")

    services.consent_withdraw(actor=rm1, consent=first, channel="phone", reason="asked")
    with pytest.raises(ConsentAlreadyWithdrawn):
        services.consent_withdraw(actor=rm1, consent=first, channel="phone")
    second = services.consent_grant(
        actor=rm1, customer=customer, purpose="marketing", channel="online"
    )

    history = list(selectors.consent_list(user=rm1, customer=customer))
    assert [c.pk for c in history] == [second.pk, first.pk]
    first.refresh_from_db()
    assert first.withdrawn_at is not None and first.withdrawal_channel == "phone"
    assert second.withdrawn_at is None
    actions = list(
        AuditEntry.objects.filter(action__startswith="consent.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["consent.granted", "consent.withdrawn", "consent.granted"]


def test_consent_grant__future_date_refused(rm1, customer):
    before = state()

    with pytest.raises(ValidationFailed) as raised:
        services.consent_grant(
            actor=rm1,
            customer=customer,
            purpose="service",
            channel="branch",
            granted_at=timezone.now() + datetime.timedelta(days=1),
        )

    assert list(raised.value.fields) == ["granted_at"]
    assert state() == before


def test_customer_history__lists_the_customer_entries(rm1, customer):
    services.customer_status_change(actor=rm1, customer=customer, status="dormant", reason="idle")

    entries = selectors.customer_history(user=rm1, customer=customer)

    assert [entry.action for entry in entries] == ["customer.status_changed", "customer.created"]


def test_pii_reveal__customer_identity_number_in_scope_only(compliance, rm2, customer):
    from cpms.privacy.services import pii_reveal

    target = f"customers.customer:{customer.pk}"

    value = pii_reveal(actor=compliance, target=target, field="identity_number", reason="KYC check")

    assert value == RESIDENT_ID
    entry = AuditEntry.objects.get(action="pii.revealed")
    assert entry.object_id == str(customer.pk)
    assert RESIDENT_ID not in str(entry.after)
