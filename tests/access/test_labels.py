"""Permissions appear with their translated names (code in small text), and a grant refused
for separation of duties names both duties and the rule (issue 11, item 6)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cpms.access import services
from cpms.access.errors import SegregationOfDutiesConflict
from cpms.access.labels import AREA_LABELS, permission_label
from cpms.access.models import Role
from cpms.core.permissions import AREAS, PERMISSIONS
from cpms.users.choices import Role as DefaultRole

pytestmark = pytest.mark.django_db


def test_label_table__every_permission_and_area_has_a_name():
    assert all(str(permission.label) for permission in PERMISSIONS)
    assert set(AREAS) <= set(AREA_LABELS)
    assert permission_label("customers.view") == "View customers"
    assert permission_label("gone.code") == "gone.code"


def test_role_list__shows_translated_names_with_codes(admin_client):
    content = admin_client.get(reverse("access:role-list")).content.decode()
    assert "查看客户" in content and "<code>customers.view</code>" in content


def test_role_form_and_conflicts__show_translated_names(admin_client):
    form = admin_client.get(reverse("access:role-create")).content.decode()
    assert "查看客户 <small><code>customers.view</code></small>" in form
    conflicts = admin_client.get(reverse("access:conflicts")).content.decode()
    assert "<code>ledger.post</code>" in conflicts and "<code>audit.export</code>" in conflicts
    assert "ledger.post</option>" not in conflicts  # choices read "name (code)"


def test_staff_grants__lists_the_permissions_by_name(admin_client, make_user):
    target = make_user(DefaultRole.CUSTOMER_SERVICE, username="svc-labels")
    content = admin_client.get(reverse("access:staff-grants", args=[target.pk])).content.decode()
    assert "查看客户" in content and "<code>retail.manage</code>" in content


def test_sod_refusal__names_both_duties_their_roles_and_the_rule(admin, make_user):
    finance = make_user(DefaultRole.FINANCE_OFFICER, username="fin-sod")
    with pytest.raises(SegregationOfDutiesConflict) as caught:
        services.grant_create(
            actor=admin, user=finance, role=Role.objects.get(code="auditor"), reason="cover"
        )
    message = caught.value.message
    assert "fin-sod cannot hold both" in message
    assert "Export the audit trail (from Auditor)" in message
    assert "Post transfers (from Finance officer)" in message
    assert "separation of duties rule audit.export + ledger.post" in message
    assert caught.value.fields == {"permissions": message}


def test_sod_refusal__shown_on_the_grant_form(admin_client, make_user):
    finance = make_user(DefaultRole.FINANCE_OFFICER, username="fin-sod2")
    admin_client.cookies["django_language"] = "en"
    response = admin_client.post(
        reverse("access:staff-grants", args=[finance.pk]),
        {"role": "auditor", "scope": "all", "reason": "cover"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Export the audit trail" in content and "Post transfers" in content
    assert "audit.export + ledger.post" in content
    assert list(finance.grants.values_list("role__code", flat=True)) == ["finance_officer"]


def test_role_with_conflicting_permissions__names_both(admin):
    with pytest.raises(SegregationOfDutiesConflict) as caught:
        services.role_create(
            actor=admin, code="risky", name="Risky", permissions=["ledger.post", "audit.export"]
        )
    assert "“Export the audit trail” and “Post transfers”" in caught.value.message


def test_unknown_client_language_still_renders(admin_client):
    client: Client = admin_client
    client.cookies["django_language"] = "en"
    assert "View customers" in client.get(reverse("access:role-list")).content.decode()
