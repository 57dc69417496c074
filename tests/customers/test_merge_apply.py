"""The customers' side of a merge (`customer_merge_apply`): the data-quality app decides and
authorises the merge; the customers app moves the relations, fills the survivor and closes the
merged customer, so only it writes customers' rows. The end-to-end merge (approval, clash rules of
other apps, the merge record) is tested in tests/quality/test_merge.py."""

from __future__ import annotations

from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.customers.models import Consent, IdentityClaim
from cpms.customers.services import (
    consent_grant,
    customer_merge_apply,
    customer_register,
)
from cpms.privacy.protected import pii_read
from tests.customers.conftest import EMAIL, OTHER_RESIDENT_ID, individual


def _two(rm1):
    survivor = customer_register(
        actor=rm1, data=individual(email="", relationship_manager_id=rm1.pk)
    )
    merged = customer_register(
        actor=rm1,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            phone="13900139000",
            email=EMAIL,
            segment="wealth",
            tags=["online", "family"],
            relationship_manager_id=rm1.pk,
        ),
    )
    return survivor, merged


def _actions(after_pk: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(pk__gt=after_pk).order_by("pk").values_list("action", flat=True)
    )


def test_customer_merge_apply__moves_fills_and_closes(rm1):
    survivor, merged = _two(rm1)
    consent_grant(actor=rm1, customer=survivor, purpose="service", channel="branch")
    clashing = consent_grant(actor=rm1, customer=merged, purpose="service", channel="online")
    mark = AuditEntry.objects.latest("pk").pk
    now = timezone.now()

    applied = customer_merge_apply(
        actor=rm1, survivor=survivor, merged=merged, reason="same person", now=now
    )

    assert applied.moved == {
        "customers.consent.customer": 1,
        "customers.identityclaim.customer": 1,
    }
    assert applied.resolutions == [
        {"relation": "customers.consent.customer", "rule": "withdrawn", "row": clashing.pk}
    ]
    assert applied.filled == ["email", "segment", "tags"]
    clashing.refresh_from_db()
    assert clashing.customer_id == survivor.pk and clashing.withdrawn_at == now
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert pii_read(survivor, "email") == pii_read(merged, "email")  # re-encrypted, same value
    assert pii_read(survivor, "phone") == "+8613800138000"  # the survivor keeps its own
    assert survivor.segment == "wealth"
    assert survivor.tags == ["vip", "online", "family"]
    assert merged.status == "closed" and merged.status_changed_at == now
    assert _actions(mark) == ["consent.withdrawn", "customer.updated", "customer.status_changed"]
    status_entry = AuditEntry.objects.get(action="customer.status_changed")
    assert status_entry.after == {"status": "closed", "merged_into": survivor.pk}
    assert status_entry.reason == "same person"


def test_customer_merge_apply__leaves_the_relations_of_the_callers_apps(rm1):
    survivor, merged = _two(rm1)
    consent_grant(actor=rm1, customer=merged, purpose="marketing", channel="online")

    applied = customer_merge_apply(
        actor=rm1, survivor=survivor, merged=merged, reason="same person", leave_apps=("customers",)
    )

    assert applied.moved == {}
    assert Consent.objects.filter(customer=merged).count() == 1
    assert IdentityClaim.objects.filter(customer=merged).count() == 1
    merged.refresh_from_db()
    assert merged.status == "closed"
