"""Property in business terms (issue 11): the owner is picked by name, amounts are typed in the
currency's main unit and shown with separators and the currency, lists say where they are, and
property items can be picked by number, identifier, description or owner within scope."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from cpms.core import pickers
from cpms.holdings import services
from cpms.holdings.forms import HoldingForm, RevalueForm
from cpms.holdings.models import Holding


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_form__owner_picked_in_scope_and_value_in_main_units(rm1, customer, other_customer):
    base = {"identifier": "HT-1", "currency": "CNY", "valued_on": "2026-01-02"}
    good = HoldingForm({**base, "customer": customer.pk, "value": "800,000.00"}, user=rm1)
    assert good.is_valid(), good.errors
    data = good.data_for_service()
    assert (data["customer"], data["value_minor"]) == (customer, 80_000_000)
    outside = HoldingForm({**base, "customer": other_customer.pk}, user=rm1)
    missing = HoldingForm({**base, "customer": 99_999_999}, user=rm1)
    assert not outside.is_valid() and not missing.is_valid()
    assert outside.errors["customer"] == missing.errors["customer"]
    decimals = HoldingForm({**base, "customer": customer.pk, "value": "1.234"}, user=rm1)
    assert not decimals.is_valid()
    assert "CNY has 2 decimal places" in decimals.errors["value"][0]


def test_form__revalue_in_the_currency_chosen(rm1):
    form = RevalueForm({"value": "1,234,567", "currency": "JPY", "valued_on": "2026-01-02"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["value"] == 1_234_567
    refused = RevalueForm({"value": "1.5", "currency": "JPY", "valued_on": "2026-01-02"})
    assert not refused.is_valid() and "JPY has no decimals" in refused.errors["value"][0]
    # a stored currency outside the usual list is still offered for that holding
    assert ("KWD", "KWD") in RevalueForm(currency="KWD").fields["currency"].choices


def test_console__register_with_picker_and_see_amount_and_name(rm1_client, customer):
    client = english(rm1_client)
    form = client.get(reverse("holdings:create"), {"kind": "contract", "customer": customer.pk})
    assert f"{customer.legal_name} ({customer.customer_number})" in form.content.decode()
    response = client.post(
        reverse("holdings:create"),
        {
            "kind": "contract",
            "customer": customer.pk,
            "identifier": "HT-9",
            "description": "租约",
            "currency": "CNY",
            "value": "1,234,567.80",
            "valued_on": "2026-01-02",
            "details-contract_number": "HT-9",
            "details-counterparty": "某公司",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    holding = Holding.objects.get(identifier="HT-9")
    assert holding.value_minor == 123_456_780
    detail = client.get(response["Location"]).content.decode()
    assert "1,234,567.80 CNY" in detail and customer.legal_name in detail
    listing = client.get(reverse("holdings:list")).content.decode()
    assert "1,234,567.80 CNY" in listing and customer.legal_name in listing
    assert "1–1 of 1" in listing


def test_console__revalue_refusal_names_the_field_and_reason(rm1, rm1_client, customer):
    holding = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="HT-2", description="x"
    )
    client = english(rm1_client)
    response = client.post(
        reverse("holdings:revalue", kwargs={"pk": holding.pk}),
        {"value": "1.234", "currency": "CNY", "valued_on": "2026-01-02"},
        follow=True,
    )
    assert "CNY has 2 decimal places" in response.content.decode()
    assert Holding.objects.get(pk=holding.pk).value_minor is None


def test_list__owner_filter_names_the_customer_and_pages(rm1, rm1_client, customer, monkeypatch):
    from cpms.holdings import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(3):
        services.holding_register(
            actor=rm1, customer=customer, kind="contract", identifier=f"C-{number}"
        )
    client = english(rm1_client)
    page = client.get(reverse("holdings:list"), {"customer": customer.pk}).content.decode()
    assert f"Property of {customer.legal_name}" in page
    assert "1–2 of 3" in page
    cursor = re.search(r"cursor=([^\"&]+)\"[^>]*>Next page", page).group(1)
    second = client.get(reverse("holdings:list"), {"customer": customer.pk, "cursor": cursor})
    assert "3–3 of 3" in second.content.decode()


def test_picker__property_items_by_description_or_owner_within_scope(
    rm1, rm2, customer, other_customer
):
    mine = services.holding_register(
        actor=rm1, customer=customer, kind="contract", identifier="HT-5", description="商铺租约"
    )
    theirs = services.holding_register(
        actor=rm2, customer=other_customer, kind="contract", identifier="HT-6", description="商铺"
    )
    found = pickers.search("holding", user=rm1, q="商铺")
    assert [option.value for option in found] == [str(mine.pk)]
    assert found[0].label == f"{mine.holding_number} 商铺租约"
    assert customer.legal_name in found[0].detail
    by_owner = pickers.search("holding", user=rm1, q=customer.legal_name)
    assert str(mine.pk) in [option.value for option in by_owner]
    assert pickers.search("holding", user=rm2, q="HT-5") == []
    assert str(theirs.pk) in [o.value for o in pickers.search("holding", user=rm2, q="HT-6")]
    assert pickers.search("holding", user=rm1, q="") == []
