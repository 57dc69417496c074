"""The type-ahead customer picker and the form fields built on it: scoped like every read,
out of scope refused exactly like missing."""

from __future__ import annotations

from django import forms

from cpms.core.forms import MoneyField, PickerField, clean_money
from cpms.customers.models import Customer
from cpms.customers.selectors import customer_list
from cpms.customers.services import customer_register

from .conftest import OTHER_RESIDENT_ID, individual


def _other_customer(rm):
    return customer_register(
        actor=rm,
        data=individual(
            legal_name="李四",
            identity_number=OTHER_RESIDENT_ID,
            phone="13900139000",
            email="li@example.com",
            relationship_manager_id=rm.pk,
        ),
    )


def test_search_finds_by_name_and_pinyin_within_scope(rm1_client, customer, far_rm):
    hidden = _other_customer(far_rm)
    by_name = rm1_client.get("/pick/customer/", {"q": "张"})
    assert by_name.status_code == 200
    text = by_name.content.decode()
    assert "张三" in text and customer.customer_number in text
    assert f'data-value="{customer.pk}"' in text
    by_pinyin = rm1_client.get("/pick/customer/", {"q": "zhangsan"}).content.decode()
    assert "张三" in by_pinyin
    out_of_scope = rm1_client.get("/pick/customer/", {"q": "李四"}).content.decode()
    assert hidden.legal_name not in out_of_scope
    assert f'data-value="{hidden.pk}"' not in out_of_scope


def test_the_identity_number_is_shown_masked(rm1_client, customer):
    text = rm1_client.get("/pick/customer/", {"q": "张三"}).content.decode()
    assert "11010519491231002X" not in text


def test_unknown_kind_is_missing(rm1_client):
    assert rm1_client.get("/pick/nothing/", {"q": "x"}).status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/pick/customer/", {"q": "张"})
    assert response.status_code == 302


class _Form(forms.Form):
    currency = forms.CharField()
    customer = PickerField("customer")
    amount = MoneyField(currency_field="currency")
    fee = MoneyField(currency="CNY", required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customer_list(user=user)

    def clean(self):
        data = super().clean()
        clean_money(self, "amount")
        return data


def test_form_takes_a_picked_customer_and_an_amount_in_yuan(rm1, customer):
    form = _Form(
        {"currency": "CNY", "customer": str(customer.pk), "amount": "800,000.00", "fee": "1.5"},
        user=rm1,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["customer"] == customer
    assert form.cleaned_data["amount"] == 80_000_000
    assert form.cleaned_data["fee"] == 150


def test_out_of_scope_customer_is_refused_like_a_missing_one(rm1, far_rm):
    hidden = _other_customer(far_rm)
    refused = _Form({"currency": "CNY", "customer": str(hidden.pk), "amount": "1"}, user=rm1)
    missing = _Form({"currency": "CNY", "customer": "999999", "amount": "1"}, user=rm1)
    assert not refused.is_valid() and not missing.is_valid()
    assert refused.errors["customer"] == missing.errors["customer"]
    assert Customer.objects.filter(pk=hidden.pk).exists()


def test_more_decimals_than_the_currency_has_is_a_field_error(rm1, customer):
    form = _Form({"currency": "JPY", "customer": str(customer.pk), "amount": "100.5"}, user=rm1)
    assert not form.is_valid()
    assert "JPY" in form.errors["amount"][0]


def test_the_widget_shows_the_chosen_name_not_the_id(rm1, customer):
    form = _Form({"currency": "CNY", "customer": str(customer.pk), "amount": "x"}, user=rm1)
    form.is_valid()
    html = str(form["customer"])
    assert "张三" in html
    assert f'value="{customer.pk}"' in html  # only in the hidden input
    assert 'role="combobox"' in html
