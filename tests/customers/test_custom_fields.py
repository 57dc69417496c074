"""Custom fields per kind of customer: definitions (services, audit), typed values on register
and update, and the pure coercion rules."""

from __future__ import annotations

import datetime
import decimal

import pytest

from cpms.audit.models import AuditEntry
from cpms.core.errors import PermissionDenied, ValidationFailed
from cpms.customers import custom_fields, selectors, services
from cpms.customers.errors import CustomFieldExists
from cpms.customers.models import Customer, CustomFieldDefinition
from tests.customers.conftest import define, individual, organisation


def state() -> tuple:
    return (
        tuple(CustomFieldDefinition.objects.order_by("pk").values_list("key", "label", "active")),
        tuple(Customer.objects.order_by("pk").values_list("pk", "custom_fields")),
        AuditEntry.objects.exclude(action="access.denied").count(),
    )


@pytest.fixture
def fields(admin):
    """A field of every type for individuals, and one for organisations."""
    return {
        "occupation": define(admin, key="occupation", label="Occupation", order=1),
        "children": define(admin, key="children", label="Children", field_type="integer"),
        "income": define(admin, key="income", label="Income", field_type="decimal"),
        "member_since": define(admin, key="member_since", label="Since", field_type="date"),
        "paperless": define(admin, key="paperless", label="Paperless", field_type="boolean"),
        "band": define(
            admin, key="band", label="Band", field_type="choice", choices=["low", "high"]
        ),
        "industry": define(
            admin,
            customer_kind="organisation",
            key="industry",
            label="Industry",
            field_type="choice",
            choices=["retail", "finance"],
            required=True,
        ),
    }


# definitions -------------------------------------------------------------------------------


def test_custom_field_define__creates_and_audits(admin):
    definition = services.custom_field_define(
        actor=admin,
        data={
            "customer_kind": "individual",
            "key": "income_band",
            "label": " Income band ",
            "field_type": "choice",
            "choices": ["low", " high ", "low", ""],
            "required": True,
            "order": 5,
        },
    )

    assert definition.label == "Income band"
    assert definition.choices == ["low", "high"]
    entry = AuditEntry.objects.get(action="customer.custom_field_defined")
    assert entry.actor_id == admin.pk
    assert entry.object_type == "customers.custom_field"
    assert entry.object_id == str(definition.pk)
    assert entry.after == {
        "customer_kind": "individual",
        "key": "income_band",
        "label": "Income band",
        "help_text": "",
        "field_type": "choice",
        "choices": ["low", "high"],
        "required": True,
        "active": True,
        "order": 5,
    }


def test_custom_field_define__needs_the_configure_permission(rm1):
    before = state()

    with pytest.raises(PermissionDenied):
        define(rm1)

    assert state() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"key": "Income Band"}, "key"),
        ({"key": "x" * 41}, "key"),
        ({"key": "收入"}, "key"),
        ({"field_type": "choice", "choices": []}, "choices"),
        ({"field_type": "integer", "choices": ["a"]}, "choices"),
        ({"field_type": "colour"}, "field_type"),
        ({"customer_kind": "robot"}, "customer_kind"),
        ({"label": "   "}, "label"),
    ],
)
def test_custom_field_define__invalid_is_refused_field_by_field(admin, overrides, field):
    before = state()

    with pytest.raises(ValidationFailed) as caught:
        define(admin, **overrides)

    assert list(caught.value.fields) == [field]
    assert state() == before


def test_custom_field_define__key_is_unique_per_kind(admin):
    define(admin, key="industry")
    define(admin, key="industry", customer_kind="organisation")
    before = state()

    with pytest.raises(CustomFieldExists) as caught:
        define(admin, key="industry")

    assert caught.value.code == "customers.custom_field_exists"
    assert list(caught.value.fields) == ["key"]
    assert state() == before


def test_custom_field_update__records_only_what_changed(admin):
    definition = define(admin, field_type="choice", choices=["a", "b"])

    services.custom_field_update(
        actor=admin,
        definition=definition,
        data={"label": "Job", "choices": ["a", "c"], "required": False},
    )

    definition.refresh_from_db()
    assert (definition.label, definition.choices) == ("Job", ["a", "c"])
    entry = AuditEntry.objects.get(action="customer.custom_field_changed")
    assert entry.object_id == str(definition.pk)
    assert entry.before == {"label": "Occupation", "choices": ["a", "b"]}
    assert entry.after == {"label": "Job", "choices": ["a", "c"]}


def test_custom_field_update__no_change_writes_nothing(admin):
    definition = define(admin)
    before = state()

    services.custom_field_update(actor=admin, definition=definition, data={"label": "Occupation"})

    assert state() == before


def test_custom_field_update__refusals_change_nothing(admin, rm1):
    definition = define(admin)
    before = state()

    with pytest.raises(PermissionDenied):
        services.custom_field_update(actor=rm1, definition=definition, data={"label": "X"})
    with pytest.raises(ValidationFailed) as caught:
        services.custom_field_update(actor=admin, definition=definition, data={"choices": ["a"]})

    assert list(caught.value.fields) == ["choices"]
    assert state() == before


def test_custom_field_update__never_rewrites_stored_values(admin, rm1, fields):
    customer = services.customer_register(
        actor=rm1,
        data=individual(
            relationship_manager_id=rm1.pk, custom_fields={"band": "low", "occupation": "教师"}
        ),
    )

    services.custom_field_update(
        actor=admin, definition=fields["band"], data={"choices": ["medium", "high"]}
    )
    services.custom_field_update(
        actor=admin, definition=fields["occupation"], data={"active": False}
    )

    customer.refresh_from_db()
    assert customer.custom_fields == {"band": "low", "occupation": "教师"}
    # and a later change of another field keeps them too
    services.customer_update(actor=rm1, customer=customer, data={"custom_fields": {"children": 2}})
    customer.refresh_from_db()
    assert customer.custom_fields == {"band": "low", "occupation": "教师", "children": 2}
    rows = selectors.customer_custom_values(user=rm1, customer=customer)
    assert [(row["key"], row["value"], row["retired"]) for row in rows] == [
        ("children", "2", False),
        ("income", "—", False),
        ("member_since", "—", False),
        ("paperless", "—", False),
        ("band", "low", False),
        ("occupation", "教师", True),  # order 1, after the others (order 0)
    ]


# values on customers -----------------------------------------------------------------------


def test_customer_register__custom_values_are_typed_and_audited(rm1, fields):
    customer = services.customer_register(
        actor=rm1,
        data=individual(
            relationship_manager_id=rm1.pk,
            custom_fields={
                "occupation": "  工程师 ",
                "children": "２",
                "income": "1,234.50",
                "member_since": "2020-02-29",
                "paperless": "yes",
                "band": "high",
            },
        ),
    )

    customer.refresh_from_db()
    expected = {
        "occupation": "工程师",
        "children": 2,
        "income": "1234.50",
        "member_since": "2020-02-29",
        "paperless": True,
        "band": "high",
    }
    assert customer.custom_fields == expected
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.after["custom_fields"] == expected


def test_customer_register__wrong_custom_values_are_refused_by_key(rm1, admin, fields):
    services.custom_field_update(actor=admin, definition=fields["band"], data={"active": False})
    before = state()

    with pytest.raises(ValidationFailed) as caught:
        services.customer_register(
            actor=rm1,
            data=individual(
                relationship_manager_id=rm1.pk,
                custom_fields={
                    "children": "two",
                    "income": "NaN",
                    "member_since": "31/12/2020",
                    "paperless": "maybe",
                    "band": "low",
                    "shoe_size": 42,
                    "industry": "retail",
                },
            ),
        )

    assert caught.value.fields == {
        "custom_fields.children": "Enter a whole number.",
        "custom_fields.income": "Enter a number.",
        "custom_fields.member_since": "Enter a date as YYYY-MM-DD.",
        "custom_fields.paperless": "Answer yes or no.",
        "custom_fields.band": "This field is no longer in use.",
        "custom_fields.shoe_size": "There is no such field for this kind of customer.",
        "custom_fields.industry": "There is no such field for this kind of customer.",
    }
    assert state() == before


def test_customer_register__required_custom_fields_apply_to_new_customers(rm1, fields):
    before = state()

    with pytest.raises(ValidationFailed) as caught:
        services.customer_register(actor=rm1, data=organisation(relationship_manager_id=rm1.pk))

    assert caught.value.fields == {"custom_fields.industry": "This field is required."}
    assert state() == before
    customer = services.customer_register(
        actor=rm1,
        data=organisation(relationship_manager_id=rm1.pk, custom_fields={"industry": "retail"}),
    )
    assert customer.custom_fields == {"industry": "retail"}


def test_customer_update__merges_clears_and_audits_custom_values(rm1, fields):
    customer = services.customer_register(
        actor=rm1,
        data=individual(
            relationship_manager_id=rm1.pk,
            custom_fields={"occupation": "教师", "children": 1, "band": "low"},
        ),
    )

    services.customer_update(
        actor=rm1,
        customer=customer,
        data={"custom_fields": {"children": 3, "band": None, "occupation": "教师"}},
    )

    customer.refresh_from_db()
    assert customer.custom_fields == {"occupation": "教师", "children": 3}
    entry = AuditEntry.objects.get(action="customer.updated")
    assert entry.before == {"custom_fields": {"occupation": "教师", "children": 1, "band": "low"}}
    assert entry.after == {"custom_fields": {"occupation": "教师", "children": 3}}


def test_customer_update__cannot_clear_a_required_field(rm1, admin, fields):
    customer = services.customer_register(
        actor=rm1,
        data=organisation(relationship_manager_id=rm1.pk, custom_fields={"industry": "retail"}),
    )
    before = state()

    with pytest.raises(ValidationFailed) as caught:
        services.customer_update(
            actor=rm1, customer=customer, data={"custom_fields": {"industry": ""}}
        )

    assert caught.value.fields == {"custom_fields.industry": "This field is required."}
    assert state() == before


def test_customer_update__required_field_defined_later_does_not_block_other_changes(rm1, admin):
    customer = services.customer_register(
        actor=rm1, data=individual(relationship_manager_id=rm1.pk)
    )
    define(admin, key="nationality", required=True)

    services.customer_update(actor=rm1, customer=customer, data={"segment": "retail"})

    customer.refresh_from_db()
    assert (customer.segment, customer.custom_fields) == ("retail", {})


# coercion ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_type", "raw", "stored"),
    [
        ("text", 12, "12"),
        ("text", "  ", None),
        ("integer", 7, 7),
        ("integer", 7.0, 7),
        ("integer", "-1,000", -1000),
        ("decimal", 0.1, "0.1"),
        ("decimal", 5, "5"),
        ("decimal", decimal.Decimal("2.50"), "2.50"),
        ("decimal", "1e3", "1000"),
        ("date", datetime.date(2024, 2, 29), "2024-02-29"),
        ("date", "２０２４-０２-２９", "2024-02-29"),
        ("boolean", False, False),
        ("boolean", "否", False),
        ("boolean", 1, True),
        ("choice", "high", "high"),
        ("choice", None, None),
    ],
)
def test_coerce__accepts(field_type, raw, stored):
    assert custom_fields.coerce(field_type, ["low", "high"], raw) == stored


@pytest.mark.parametrize(
    ("field_type", "raw"),
    [
        ("text", ["a"]),
        ("text", "x" * 1001),
        ("integer", True),
        ("integer", 1.5),
        ("integer", "1.5"),
        ("integer", 10**15),
        ("decimal", "Infinity"),
        ("decimal", "1" * 21),
        ("decimal", True),
        ("date", "2023-02-29"),
        ("date", datetime.datetime(2024, 1, 1, 12)),
        ("boolean", 2),
        ("boolean", "perhaps"),
        ("choice", "medium"),
        ("choice", 1),
    ],
)
def test_coerce__refuses(field_type, raw):
    with pytest.raises(custom_fields.CustomValueInvalid):
        custom_fields.coerce(field_type, ["low", "high"], raw)


def test_display__in_english():
    assert custom_fields.display("boolean", True) == "Yes"
    assert custom_fields.display("date", "2024-02-29") == "2024-02-29"
    assert custom_fields.display("text", None) == "—"
