"""Issue 11 item 7: customer pages show labels in the reader's language, never stored keys or
validator codes; lists show names and totals."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from cpms.customers import selectors, services
from cpms.customers.models import Customer
from cpms.customers.pickers import relationship_manager_queryset, search_relationship_managers
from cpms.customers.segments import segment_choices, segment_label
from cpms.customers.validators import warning_text
from cpms.users.choices import Role


def test_segment_label__known_values_are_translated_and_others_kept():
    with translation.override("en"):
        assert segment_label("private banking") == "Private banking"
        assert segment_label("Private Banking") == "Private banking"
    assert segment_label("VIP 2026") == "VIP 2026"
    assert segment_label("") == ""
    assert ("VIP 2026", "VIP 2026") in segment_choices("VIP 2026")
    assert segment_choices()[0][0] == "private banking"


def test_warning_text__a_code_is_never_shown_and_luhn_is_translated():
    luhn = {"field": "number", "code": "bank_card.luhn", "message": "stored english"}
    with translation.override("zh-hans"):
        assert "Luhn 校验" in warning_text(luhn)
    assert "bank_card" not in warning_text({"field": "x", "code": "bank_card.other"})
    assert warning_text({"code": "x.y", "message": "kept"}) == "kept"


def test_profile__segment_label_and_no_raw_warning_code(rm1, rm1_client, customer):
    Customer.objects.filter(pk=customer.pk).update(
        segment="private banking",
        data_warnings=[{"field": "phone", "code": "bank_card.luhn", "message": "x"}],
    )
    page = rm1_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "private banking" not in page
    assert "bank_card.luhn" not in page
    assert "Luhn" in page


def test_list__customer_number_header_and_totals(rm1, rm1_client, customer):
    page = rm1_client.get(reverse("customers:list")).content.decode()
    assert "1–1" in page
    assert "客户编号" in page
    assert "经理一" in page  # the relationship manager by name


def test_relationship_manager_picker__only_people_who_manage_customers(
    rm1, rm2, make_user, customer
):
    from cpms.access.services import grant_create, role_get

    finance = make_user(Role.FINANCE_OFFICER, username="fin-picker", display_name="财务甲")
    head = make_user(Role.AUDITOR, username="branch-head")  # sees staff (users.view)
    grant_create(
        actor=None,
        user=head,
        role=role_get(Role.RELATIONSHIP_MANAGER.value),
        scope="branch",
        branch=rm1.branch,
    )
    people = set(relationship_manager_queryset(user=head))
    assert rm1 in people and rm2 in people
    assert finance not in people
    # a manager of assigned customers only can assign only themselves
    assert set(relationship_manager_queryset(user=rm1)) == {rm1}
    labels = [option.label for option in search_relationship_managers(user=rm1, q="经理", extra={})]
    assert labels == ["经理一"]
    assert [o.label for o in search_relationship_managers(user=rm1, q="rm2", extra={})] == []
    assert list(search_relationship_managers(user=rm1, q="", extra={})) == []
    # the scoped selector of customers is untouched
    assert list(selectors.customer_list(user=rm1)) == [customer]
    assert services.KYC_VERIFY_ACTION == "customers.kyc_verify"
