"""Search input that looks like an identifier is answered by indexes only."""

from __future__ import annotations

import pytest

from cpms.customers import selectors
from cpms.customers.services import customer_register
from tests.customers.conftest import individual


@pytest.mark.parametrize(
    "q",
    ["110105 19491231 002x", "+86 138 0013 8000", "zhang.san@example.com"],
)
def test_customer_list__identifier_search_uses_no_name_scan(rm1, customer, q):
    customers = selectors.customer_list(user=rm1, q=q)

    assert "LIKE" not in str(customers.query).upper()
    assert list(customers) == [customer]


def test_customer_list__customer_number_in_any_case(rm1, customer):
    assert list(selectors.customer_list(user=rm1, q=customer.customer_number.lower())) == [customer]


def test_customer_list__names_with_some_digits_are_still_names(rm1):
    named = customer_register(
        actor=rm1, data=individual(relationship_manager_id=rm1.pk, legal_name="ABC123 Trading")
    )

    assert list(selectors.customer_list(user=rm1, q="ABC123 Trading")) == [named]
