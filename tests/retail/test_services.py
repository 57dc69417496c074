"""Services and selectors of retail records: the rules, exact audit entries, refusals that
leave nothing behind, the loyalty seam and scope."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from cpms.audit.models import AuditEntry
from cpms.core.errors import NotFound, PermissionDenied, ValidationFailed
from cpms.core.money import format_minor, parse_major
from cpms.retail import selectors, services
from cpms.retail.errors import PurchaseExists
from cpms.retail.models import Purchase, PurchaseLine, PurchaseReturn, PurchaseReturnLine
from tests.retail.conftest import purchase_data


def state() -> tuple[int, int, int, int, int]:
    return (
        Purchase.objects.count(),
        PurchaseLine.objects.count(),
        PurchaseReturn.objects.count(),
        PurchaseReturnLine.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


def refused(call, *args, **kwargs) -> ValidationFailed:
    before = state()
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    assert state() == before
    return caught.value


# recording a purchase ----------------------------------------------------------------------


def test_purchase_record__writes_lines_and_one_audit_entry(rm1, customer):
    data = purchase_data(customer)

    purchase = services.purchase_record(actor=rm1, data=data)

    purchase.refresh_from_db()
    assert purchase.reference == "R-0001"
    assert purchase.customer_id == customer.pk
    assert purchase.store_code == "SH-01"
    assert purchase.total_minor == 28490
    assert purchase.recorded_by_id == rm1.pk
    lines = list(purchase.lines.order_by("line_number").values_list(
        "line_number", "category", "sku", "description", "quantity", "unit_amount_minor",
        "amount_minor",
    ))  # fmt: skip
    assert lines == [
        (1, "服装", "CL-1", "", 2, 10000, 20000),
        (2, "鞋履", "", "帆布鞋", 1, 5990, 5990),
        (3, "家居", "HM-3", "杯子", 3, 1000, 2500),
    ]
    entry = AuditEntry.objects.filter(action="purchase.recorded").get()
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_id) == (
        "purchase.recorded",
        "retail.purchase",
        str(purchase.pk),
        rm1.pk,
    )
    assert entry.after == {
        "reference": "R-0001",
        "customer_id": customer.pk,
        "purchased_at": purchase.purchased_at.isoformat(),
        "channel": "store",
        "store_code": "SH-01",
        "currency": "CNY",
        "total_minor": 28490,
        "note": "",
        "lines": [
            {
                "line_number": 1,
                "category": "服装",
                "sku": "CL-1",
                "description": "",
                "quantity": 2,
                "unit_amount_minor": 10000,
                "amount_minor": 20000,
            },
            {
                "line_number": 2,
                "category": "鞋履",
                "sku": "",
                "description": "帆布鞋",
                "quantity": 1,
                "unit_amount_minor": 5990,
                "amount_minor": 5990,
            },
            {
                "line_number": 3,
                "category": "家居",
                "sku": "HM-3",
                "description": "杯子",
                "quantity": 3,
                "unit_amount_minor": 1000,
                "amount_minor": 2500,
            },
        ],
    }


def test_purchase_record__customer_number_and_local_time(rm1, customer):
    purchase = services.purchase_record(
        actor=rm1,
        data=purchase_data(
            customer,
            customer_id=None,
            customer_number=customer.customer_number,
            purchased_at="2026-01-05T09:30:00",
            channel="online",
            store_code="",
            currency="cny",
        ),
    )

    assert purchase.customer_id == customer.pk
    assert purchase.currency == "CNY"
    local = timezone.localtime(purchase.purchased_at)
    assert (local.date(), local.hour, local.minute) == (datetime.date(2026, 1, 5), 9, 30)


def test_purchase_record__customer_service_records_for_any_customer(service, customer):
    purchase = services.purchase_record(actor=service, data=purchase_data(customer))

    assert purchase.recorded_by_id == service.pk


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"total_minor": 28491}, "total_minor"),
        ({"store_code": ""}, "store_code"),
        ({"store_code": "店 1"}, "store_code"),
        ({"currency": "C1Y"}, "currency"),
        ({"currency": "YUAN"}, "currency"),
        ({"purchased_at": timezone.now() + datetime.timedelta(days=1)}, "purchased_at"),
        ({"lines": []}, "lines"),
        ({"reference": "  "}, "reference"),
        ({"channel": "fax"}, "channel"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": 999_999}, "customer_id"),
        (
            {"lines": [{"category": "x", "sku": "a", "quantity": 0, "unit_amount_minor": 1}]},
            "lines.0.quantity",
        ),
        (
            {"lines": [{"category": "x", "sku": "a", "quantity": 1, "unit_amount_minor": 12.5}]},
            "lines.0.unit_amount_minor",
        ),
        (
            {"lines": [{"category": "x", "sku": "a", "quantity": 1, "unit_amount_minor": -1}]},
            "lines.0.unit_amount_minor",
        ),
        (
            {
                "total_minor": 200,
                "lines": [
                    {"category": "x", "sku": "a", "quantity": 1, "unit_amount_minor": 100},
                    {"category": "x", "quantity": 1, "unit_amount_minor": 100},
                ],
            },
            "lines.1.description",
        ),
        (
            {
                "total_minor": 300,
                "lines": [
                    {"category": "x", "sku": "a", "quantity": 2, "unit_amount_minor": 100},
                    {"category": "x", "sku": "b", "quantity": 1, "unit_amount_minor": 50},
                    {"category": "", "sku": "c", "quantity": 1, "unit_amount_minor": 0},
                ],
            },
            "lines.2.category",
        ),
    ],
)
def test_purchase_record__refusals_name_the_field_and_write_nothing(
    rm1, customer, overrides, field
):
    error = refused(services.purchase_record, actor=rm1, data=purchase_data(customer, **overrides))

    assert field in error.fields


def test_purchase_record__lines_not_summing_say_both_amounts(rm1, customer):
    error = refused(
        services.purchase_record, actor=rm1, data=purchase_data(customer, total_minor=30000)
    )

    assert error.fields == {
        "total_minor": "The lines add up to 284.90 CNY, not to the total 300.00 CNY."
    }


def test_purchase_record__line_amount_above_quantity_times_price(rm1, customer):
    data = purchase_data(customer, total_minor=350)
    data["lines"] = [
        {"category": "x", "sku": "a", "quantity": 3, "unit_amount_minor": 100, "amount_minor": 350}
    ]

    error = refused(services.purchase_record, actor=rm1, data=data)

    assert error.fields == {
        "lines.0.amount_minor": "The line amount cannot exceed quantity × unit price (3.00 CNY)."
    }


def test_purchase_record__every_wrong_field_at_once(rm1, customer):
    error = refused(
        services.purchase_record,
        actor=rm1,
        data=purchase_data(customer, store_code="", currency="XX1", total_minor=1),
    )

    assert set(error.fields) == {"store_code", "currency", "total_minor"}


def test_purchase_record__other_managers_customer_is_refused_like_a_missing_one(
    rm2, customer, other_customer
):
    error = refused(services.purchase_record, actor=rm2, data=purchase_data(customer))

    assert error.fields == {
        "customer_id": "No such customer among those you may record purchases for."
    }


def test_purchase_record__duplicate_reference_is_a_conflict(rm1, customer, purchase):
    before = state()

    with pytest.raises(PurchaseExists) as caught:
        services.purchase_record(actor=rm1, data=purchase_data(customer))

    assert caught.value.code == "retail.purchase_exists"
    assert caught.value.status == 409
    assert list(caught.value.fields) == ["reference"]
    assert state() == before


def test_purchase_record__needs_retail_manage(auditor, customer):
    before = state()

    with pytest.raises(PermissionDenied):
        services.purchase_record(actor=auditor, data=purchase_data(customer))

    assert state() == before


def test_purchase_record__purchase_hook_runs_inside_the_transaction(purchase_hook, rm1, customer):
    seen = []

    def post(*, actor, purchase):
        seen.append((actor.pk, purchase.reference, connection.in_atomic_block))

    purchase_hook(on_purchase_recorded=post)

    services.purchase_record(actor=rm1, data=purchase_data(customer))

    assert seen == [(rm1.pk, "R-0001", True)]


def test_purchase_record__a_failing_hook_rolls_everything_back(purchase_hook, rm1, customer):
    def post(*, actor, purchase):
        raise RuntimeError("ledger unavailable")

    purchase_hook(on_purchase_recorded=post)
    before = state()

    with pytest.raises(RuntimeError):
        services.purchase_record(actor=rm1, data=purchase_data(customer))

    assert state() == before


# returns and exchanges ---------------------------------------------------------------------


def test_purchase_return__refund_and_exact_audit_entry(rm1, purchase):
    returned_at = purchase.purchased_at + datetime.timedelta(days=2)

    record = services.purchase_return(
        actor=rm1,
        purchase=purchase,
        data={
            "reason": "damaged",
            "note": "领口开线",
            "returned_at": returned_at,
            "refund_minor": 10000,
            "lines": [{"line_number": 1, "quantity": 1}],
        },
    )

    assert (record.kind, record.reason, record.refund_minor) == ("return", "damaged", 10000)
    assert list(record.lines.values_list("line__line_number", "quantity", "value_minor")) == [
        (1, 1, 10000)
    ]
    entry = AuditEntry.objects.filter(action="purchase.returned").get()
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "retail.purchase",
        str(purchase.pk),
        rm1.pk,
    )
    assert entry.after == {
        "return_id": record.pk,
        "kind": "return",
        "reason": "damaged",
        "note": "领口开线",
        "returned_at": returned_at.isoformat(),
        "refund_minor": 10000,
        "currency": "CNY",
        "replacement_reference": "",
        "lines": [{"line_number": 1, "quantity": 1, "value_minor": 10000}],
    }


def test_purchase_return__exchange_links_the_replacement(rm1, customer, purchase):
    replacement = services.purchase_record(
        actor=rm1,
        data=purchase_data(
            customer,
            reference="R-0002",
            total_minor=5990,
            lines=[{"category": "鞋履", "sku": "SH-2", "quantity": 1, "unit_amount_minor": 5990}],
        ),
    )

    record = services.purchase_return(
        actor=rm1,
        purchase=purchase,
        data={
            "kind": "exchange",
            "reason": "wrong_item",
            "replacement_reference": "R-0002",
            "lines": [{"line_number": 2, "quantity": 1}],
        },
    )

    assert record.replacement_id == replacement.pk
    assert record.refund_minor == 0
    entry = AuditEntry.objects.filter(action="purchase.exchanged").get()
    assert entry.after["replacement_reference"] == "R-0002"
    assert entry.after["lines"] == [{"line_number": 2, "quantity": 1, "value_minor": 5990}]
    assert not AuditEntry.objects.filter(action="purchase.returned").exists()


def test_purchase_return__discounted_line_shares_add_up_exactly(rm1, purchase):
    refunds = []
    for _round in range(3):
        record = services.purchase_return(
            actor=rm1,
            purchase=purchase,
            data={
                "reason": "changed_mind",
                "refund_minor": 0,
                "lines": [{"line_number": 3, "quantity": 1}],
            },
        )
        refunds.append(record.lines.get().value_minor)

    assert refunds == [833, 833, 834]
    assert sum(refunds) == 2500


def test_purchase_return__quantity_beyond_what_is_left(rm1, purchase):
    services.purchase_return(
        actor=rm1,
        purchase=purchase,
        data={"reason": "damaged", "lines": [{"line_number": 1, "quantity": 1}]},
    )

    error = refused(
        services.purchase_return,
        actor=rm1,
        purchase=purchase,
        data={"reason": "damaged", "lines": [{"line_number": 1, "quantity": 2}]},
    )

    assert error.fields == {
        "lines.0.quantity": "Only 1 of the 2 units of line 1 can still be returned."
    }


def test_purchase_return__refund_above_the_value_of_the_returned_units(rm1, purchase):
    error = refused(
        services.purchase_return,
        actor=rm1,
        purchase=purchase,
        data={
            "reason": "damaged",
            "refund_minor": 10001,
            "lines": [{"line_number": 1, "quantity": 1}],
        },
    )

    assert error.fields == {
        "refund_minor": "The refund cannot exceed the value of the returned units (100.00 CNY)."
    }


def test_purchase_return__refund_never_beyond_what_is_left(rm1, purchase):
    for line_number, quantity in ((1, 2), (2, 1), (3, 3)):
        services.purchase_return(
            actor=rm1,
            purchase=purchase,
            data={
                "reason": "changed_mind",
                "refund_minor": {1: 20000, 2: 5990, 3: 2500}[line_number],
                "lines": [{"line_number": line_number, "quantity": quantity}],
            },
        )

    assert selectors.purchase_refunded(purchase=purchase) == purchase.total_minor
    error = refused(
        services.purchase_return,
        actor=rm1,
        purchase=purchase,
        data={"reason": "damaged", "refund_minor": 1, "lines": [{"line_number": 1, "quantity": 1}]},
    )
    assert error.fields == {
        "lines.0.quantity": "Only 0 of the 2 units of line 1 can still be returned."
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lines": [{"line_number": 9, "quantity": 1}]}, "lines.0.line_number"),
        (
            {"lines": [{"line_number": 1, "quantity": 1}, {"line_number": 1, "quantity": 1}]},
            "lines.1.line_number",
        ),
        ({"lines": [{"line_number": 1, "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": []}, "lines"),
        ({"reason": "other", "note": ""}, "note"),
        ({"reason": "lost"}, "reason"),
        ({"kind": "gift"}, "kind"),
        ({"refund_minor": -1}, "refund_minor"),
        ({"refund_minor": 1.5}, "refund_minor"),
        ({"returned_at": "2000-01-01T00:00:00+08:00"}, "returned_at"),
        ({"returned_at": timezone.now() + datetime.timedelta(days=1)}, "returned_at"),
        ({"replacement_reference": "R-0001", "kind": "exchange"}, "replacement_reference"),
        ({"replacement_reference": "NOPE", "kind": "exchange"}, "replacement_reference"),
        ({"replacement_reference": "R-OTHER", "kind": "exchange"}, "replacement_reference"),
        ({"replacement_reference": "R-0002", "kind": "return"}, "replacement_reference"),
    ],
)
def test_purchase_return__refusals_name_the_field_and_write_nothing(
    rm1, rm2, customer, other_customer, purchase, data, field
):
    services.purchase_record(
        actor=rm2, data=purchase_data(other_customer, reference="R-OTHER", store_code="X")
    )
    services.purchase_record(actor=rm1, data=purchase_data(customer, reference="R-0002"))
    payload = {"reason": "damaged", "lines": [{"line_number": 1, "quantity": 1}], **data}

    error = refused(services.purchase_return, actor=rm1, purchase=purchase, data=payload)

    assert field in error.fields


def test_purchase_return__cannot_predate_the_purchase_message(rm1, purchase):
    error = refused(
        services.purchase_return,
        actor=rm1,
        purchase=purchase,
        data={
            "reason": "damaged",
            "returned_at": purchase.purchased_at - datetime.timedelta(minutes=1),
            "lines": [{"line_number": 1, "quantity": 1}],
        },
    )

    when = timezone.localtime(purchase.purchased_at).strftime("%Y-%m-%d %H:%M")
    assert error.fields == {"returned_at": f"A return cannot predate the purchase ({when})."}


def test_purchase_return__out_of_scope_is_not_found(rm2, far_finance, purchase):
    before = state()
    data = {"reason": "damaged", "lines": [{"line_number": 1, "quantity": 1}]}

    with pytest.raises(NotFound):
        services.purchase_return(actor=rm2, purchase=purchase, data=data)
    with pytest.raises(PermissionDenied):  # finance officers only view purchases
        services.purchase_return(actor=far_finance, purchase=purchase, data=data)

    assert state() == before


def test_purchase_return__return_hook_runs_inside_the_transaction(purchase_hook, rm1, purchase):
    seen = []

    def reverse(*, actor, purchase_return):
        seen.append((purchase_return.purchase_id, connection.in_atomic_block))

    purchase_hook(on_return_recorded=reverse)

    services.purchase_return(
        actor=rm1,
        purchase=purchase,
        data={"reason": "damaged", "lines": [{"line_number": 1, "quantity": 1}]},
    )

    assert seen == [(purchase.pk, True)]


# selectors ---------------------------------------------------------------------------------


def test_purchase_list__scope_and_filters(rm1, rm2, service, customer, other_customer, purchase):
    other = services.purchase_record(
        actor=rm2,
        data=purchase_data(
            other_customer,
            reference="R-OTHER",
            channel="online",
            store_code="",
            purchased_at=timezone.now() - datetime.timedelta(days=40),
        ),
    )

    assert list(selectors.purchase_list(user=rm1)) == [purchase]
    assert list(selectors.purchase_list(user=rm2)) == [other]
    everything = selectors.purchase_list(user=service)
    assert set(everything) == {purchase, other}
    assert list(selectors.purchase_list(user=service, store="sh-01")) == [purchase]
    assert list(selectors.purchase_list(user=service, channel="online")) == [other]
    assert list(selectors.purchase_list(user=service, customer=other_customer.pk)) == [other]
    recent = timezone.localdate() - datetime.timedelta(days=20)
    assert list(selectors.purchase_list(user=service, date_from=recent)) == [purchase]
    assert list(selectors.purchase_list(user=service, date_to=recent)) == [other]
    assert selectors.purchase_get_by_reference(user=rm2, reference="R-0001") is None
    assert selectors.purchase_get_by_reference(user=rm1, reference=" R-0001 ") == purchase
    with pytest.raises(NotFound):
        selectors.purchase_get_for_user(user=rm2, pk=purchase.pk)


def test_customer_purchase_summary__twelve_months(rm1, customer, purchase):
    services.purchase_record(
        actor=rm1,
        data=purchase_data(
            customer,
            reference="R-OLD",
            purchased_at=timezone.now() - datetime.timedelta(days=400),
        ),
    )
    services.purchase_record(
        actor=rm1,
        data=purchase_data(
            customer,
            reference="R-USD",
            currency="USD",
            total_minor=500,
            lines=[{"category": "x", "sku": "a", "quantity": 1, "unit_amount_minor": 500}],
        ),
    )
    services.purchase_return(
        actor=rm1,
        purchase=purchase,
        data={
            "reason": "damaged",
            "refund_minor": 5990,
            "lines": [{"line_number": 2, "quantity": 1}],
        },
    )

    summary = selectors.customer_purchase_summary(user=rm1, customer=customer)

    assert summary.purchase_count == 3
    assert summary.purchase_count_12m == 2
    assert summary.spend_12m == {"CNY": 28490, "USD": 500}
    assert summary.refunds_12m == {"CNY": 5990}
    assert summary.net_spend_12m == {"CNY": 22500, "USD": 500}
    assert (summary.return_count, summary.exchange_count) == (1, 0)


def test_customer_purchase_summary__out_of_scope(rm2, customer, purchase):
    with pytest.raises(NotFound):
        selectors.customer_purchase_summary(user=rm2, customer=customer)


def test_purchase_as_data__round_trips_through_purchase_record(rm1, customer, purchase):
    data = selectors.purchase_as_data(purchase)
    data["reference"] = "R-COPY"

    copy = services.purchase_record(actor=rm1, data=data)

    assert selectors.purchase_as_data(copy) == {**data, "reference": "R-COPY"}


# money -------------------------------------------------------------------------------------


def test_money__format_and_parse_without_floats():
    assert format_minor(1234567, "CNY") == "12,345.67 CNY"
    assert format_minor(-5, "CNY") == "-0.05 CNY"
    assert format_minor(500, "JPY") == "500 JPY"
    assert format_minor(1234, "KWD") == "1.234 KWD"
    assert parse_major("12.5", "CNY") == 1250
    assert parse_major("1,000", "JPY") == 1000
    assert parse_major("0.1", "CNY") + parse_major("0.2", "CNY") == parse_major("0.3", "CNY")
    for bad in ("12.345", "-1", "abc", "nan"):
        with pytest.raises(ValueError):
            parse_major(bad, "CNY")
