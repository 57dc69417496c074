"""Custody in business terms (issue 11): the customer is picked by name within scope, the
declared value is typed as "800,000.00", and the item page, timeline and receipt read as
sentences with names and formatted amounts — never an internal ID, a field name or a dict."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from cpms.core import pickers
from cpms.custody import services
from cpms.custody.forms import ReceiveForm
from cpms.custody.models import CustodyItem
from cpms.custody.receipt import receipt_rows
from cpms.customers.services import customer_register
from tests.custody.conftest import receive
from tests.customers.conftest import organisation

FORM = {
    "category": "collateral",
    "description": "黄金金条 1000 克",
    "condition_grade": "good",
    "location": "金库 A-01-03",
    "currency": "CNY",
}


@pytest.fixture
def far_customer(far_rm):
    return customer_register(actor=far_rm, data=organisation(relationship_manager_id=far_rm.pk))


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


# --- the intake form ---------------------------------------------------------------------------


def test_form__customer_in_scope_and_value_in_main_units(rm1, customer):
    form = ReceiveForm({**FORM, "customer": customer.pk, "value": "800,000.00"}, user=rm1)
    assert form.is_valid(), form.errors
    data = form.data_for_service()
    assert data["customer"] == customer
    assert data["value_minor"] == 80_000_000
    assert data["valued_on"] == timezone.localdate()
    assert "customer_id" not in data and "value" not in data


def test_form__out_of_scope_customer_is_refused_like_a_missing_one(rm1, far_customer):
    outside = ReceiveForm({**FORM, "customer": far_customer.pk}, user=rm1)
    missing = ReceiveForm({**FORM, "customer": 99_999_999}, user=rm1)
    assert not outside.is_valid() and not missing.is_valid()
    assert outside.errors["customer"] == missing.errors["customer"]
    assert "Not found" in outside.errors["customer"][0]


def test_form__too_many_decimals_are_refused_with_the_reason(rm1, customer):
    cny = ReceiveForm({**FORM, "customer": customer.pk, "value": "1.234"}, user=rm1)
    jpy = ReceiveForm(
        {**FORM, "customer": customer.pk, "value": "1.5", "currency": "JPY"}, user=rm1
    )
    assert not cny.is_valid() and not jpy.is_valid()
    assert "CNY has 2 decimal places" in cny.errors["value"][0]
    assert "JPY has no decimals" in jpy.errors["value"][0]
    words = ReceiveForm({**FORM, "customer": customer.pk, "value": "1e5"}, user=rm1)
    assert not words.is_valid() and "value" in words.errors


def test_form__the_picker_never_lists_a_customer_out_of_scope(rm1, customer, far_customer):
    labels = [option.label for option in pickers.search("customer", user=rm1, q="张")]
    assert customer.legal_name in labels
    assert far_customer.legal_name not in [
        option.label for option in pickers.search("customer", user=rm1, q="福建")
    ]


def test_console__intake_with_picker_and_typed_value_shows_the_formatted_value(
    rm1, rm1_client, customer
):
    page = rm1_client.get("/custody/new/", {"customer": customer.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Customer (id)" not in html and "fen" not in html
    assert f"{customer.legal_name} ({customer.customer_number})" in html  # the chosen name
    response = rm1_client.post(
        "/custody/new/", {**FORM, "customer": customer.pk, "value": "800,000.00"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    item = CustodyItem.objects.get()
    assert item.holding.value_minor == 80_000_000
    detail = rm1_client.get(response["Location"]).content.decode()
    assert "800,000.00 CNY" in detail
    assert customer.legal_name in detail
    listing = rm1_client.get("/custody/").content.decode()
    assert "800,000.00 CNY" in listing


def test_console__bad_value_keeps_everything_and_writes_nothing(rm1_client, customer):
    response = english(rm1_client).post(
        "/custody/new/", {**FORM, "customer": customer.pk, "value": "1.234"}
    )
    assert response.status_code == 200
    assert "CNY has 2 decimal places" in response.content.decode()
    assert CustodyItem.objects.count() == 0


def test_console__out_of_scope_customer_posted_by_hand_is_refused(rm1_client, far_customer):
    response = english(rm1_client).post("/custody/new/", {**FORM, "customer": far_customer.pk})
    assert response.status_code == 200
    assert "Not found: search again and pick one from the list." in response.content.decode()
    assert CustodyItem.objects.count() == 0


# --- the timeline ------------------------------------------------------------------------------


def test_timeline__reads_as_sentences_with_names(rm1, rm2, rm1_client, customer):
    item = receive(rm1, customer)
    services.item_put_away(actor=rm1, item=item, location="金库 A-01-03")
    services.item_move(actor=rm1, item=item, location="金库 B-02-01", custodian=rm2)
    rm2.display_name = "李四"
    rm2.save()
    html = english(rm1_client).get(f"/custody/{item.pk}/").content.decode()
    timeline = html[html.index("custody-timeline") :]
    assert "Custodian changed: 经理一 → 李四" in timeline
    assert "Storage location changed: 金库 A-01-03 → 金库 B-02-01" in timeline
    assert "Storage location: 金库 A-01-03" in timeline
    assert "Condition: Good" in timeline
    for raw in ("custodian_id", "from_location", "condition_grade", "{", "&#x27;", "None"):
        assert raw not in timeline, raw


def test_timeline__unknown_details_become_a_generic_line(rm1, rm1_client, customer):
    item = receive(rm1, customer)
    event = item.events.get()
    event.details = {**event.details, "mystery_field": {"a": 1}}
    event.save()
    html = english(rm1_client).get(f"/custody/{item.pk}/").content.decode()
    assert "Other details changed." in html
    assert "mystery_field" not in html


def test_timeline__check_out_and_back_late(rm1, rm1_client, customer):
    import datetime

    from cpms.custody.timeline import describe

    item = receive(rm1, customer)
    services.item_put_away(actor=rm1, item=item)
    due = timezone.localdate() + datetime.timedelta(days=2)
    services.item_check_out(actor=rm1, item=item, to_whom="王工", purpose="估值", due_on=due)
    event = item.events.order_by("-pk").first()
    assert describe(event, {}) == [f"Checked out to 王工 for 估值, due back on {due:%Y-%m-%d}"]


# --- the receipt -------------------------------------------------------------------------------


def test_receipt__names_the_customer_and_the_formatted_value(rm1, customer):
    item = receive(rm1, customer, value_minor=80_000_000, currency="CNY",
                   valued_on=timezone.localdate())  # fmt: skip
    rows = dict(receipt_rows(item, photos=0))
    assert rows["物主 Owner"].startswith(customer.legal_name)
    assert rows["申报价值 Declared value"].startswith("800,000.00 CNY")
    assert "(collateral)" not in rows["类别 Category"]
    pdf = services.receipt_issue(actor=rm1, item=item)
    pypdf = pytest.importorskip("pypdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "800,000.00 CNY" in text
    assert customer.legal_name in re.sub(r"\s+", "", text)


# --- lists -------------------------------------------------------------------------------------


def test_list__shows_the_position_and_pages_both_ways(rm1, rm1_client, customer, monkeypatch):
    from cpms.custody import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(5):
        receive(rm1, customer, description=f"物品 {number}")
    client = english(rm1_client)
    first = client.get("/custody/").content.decode()
    assert "1–2 of 5" in first
    cursor = re.search(r'href="\?cursor=([^"]+)"[^>]*>Next page', first).group(1)
    second = client.get("/custody/", {"cursor": cursor}).content.decode()
    assert "3–4 of 5" in second and "Previous page" in second
    previous = re.search(r'href="([^"]*)"[^>]*>Previous page', second).group(1)
    assert "1–2 of 5" in client.get("/custody/" + previous.replace("&amp;", "&")).content.decode()
