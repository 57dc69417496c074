"""Importing the same file twice changes nothing (issue 10, item 11): with the product's own
template (relationship manager, branch and other optional cells left blank), a relationship
manager's second import finds every row unchanged, refuses nothing and writes no entry for
the rows. A blank cell on update keeps the stored value; "-" clears an optional one."""

from __future__ import annotations

import io

import pytest

from cpms.audit.models import AuditEntry
from cpms.customers.models import Customer
from cpms.dataio.selectors import template_write
from cpms.dataio.services import data_import
from cpms.privacy.protected import pii_read


def template(name: str) -> bytes:
    stream = io.BytesIO()
    template_write(dataset="customers", stream=stream, name=name)
    return stream.getvalue()


def run(actor, content: bytes, name: str):
    return data_import(actor=actor, dataset="customers", stream=io.BytesIO(content), filename=name)


@pytest.mark.parametrize("name", ["template.csv", "template.xlsx"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_import_template_twice__second_time_changes_nothing(rm1, name, language, settings):
    from django.utils import translation

    with translation.override(language):
        content = template(name)
    first = run(rm1, content, name)
    assert first.accepted, first.errors
    assert first.created == 1
    customer = Customer.objects.get()
    assert customer.relationship_manager_id == rm1.pk
    entries = AuditEntry.objects.exclude(action="access.denied").count()

    second = run(rm1, content, name)

    assert second.accepted, second.errors
    assert (second.created, second.updated, second.unchanged, second.error_count) == (0, 0, 1, 0)
    assert list(
        AuditEntry.objects.filter(pk__gt=0).order_by("pk").values_list("action", flat=True)
    )[entries:] == ["data.imported"]
    customer.refresh_from_db()
    assert customer.relationship_manager_id == rm1.pk


def test_blank_cell_keeps_and_dash_clears_on_update(rm1):
    headers = "Kind,Legal name,Identity document,Identity number,Phone,Segment,Relationship manager"
    first = f"{headers}\nindividual,张三,resident_id,11010519491231002X,13800138000,vip,rm1\n"
    assert run(rm1, first.encode(), "c.csv").accepted
    blank = f"{headers}\nindividual,张三,resident_id,11010519491231002X,,,\n"
    report = run(rm1, blank.encode(), "c.csv")
    assert report.accepted, report.errors
    assert report.unchanged == 1
    customer = Customer.objects.get()
    assert (customer.segment, pii_read(customer, "phone")) == ("vip", "+8613800138000")
    dash = f"{headers}\nindividual,张三,resident_id,11010519491231002X,-,-,\n"
    report = run(rm1, dash.encode(), "c.csv")
    assert report.accepted, report.errors
    assert report.updated == 1
    customer.refresh_from_db()
    assert (customer.segment, pii_read(customer, "phone") or "") == ("", "")
    assert customer.relationship_manager_id == rm1.pk


def test_holdings_blank_description_keeps_and_dash_clears(rm1):
    from cpms.holdings.models import Holding
    from tests.dataio.conftest import csv_bytes
    from tests.dataio.test_import_holdings import HEADERS, owner

    number = owner(rm1).customer_number

    def holdings(description: str):
        row = [number, "contract", "HT-1", description, "", "", ""]
        return data_import(
            actor=rm1,
            dataset="holdings",
            stream=io.BytesIO(csv_bytes(HEADERS, [row])),
            filename="h.csv",
        )

    assert holdings("租赁合同").created == 1
    assert holdings("").unchanged == 1
    assert Holding.objects.get().description == "租赁合同"
    assert holdings("-").updated == 1
    assert Holding.objects.get().description == ""
