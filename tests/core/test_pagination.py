"""Keyset pagination: walking every page returns every row once, in order."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpms.core.errors import ValidationFailed
from cpms.core.pagination import MAX_LIMIT, decode_cursor, encode_cursor, keyset_page
from cpms.users.models import Branch


def walk(queryset, *, limit, ordering):
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = keyset_page(queryset, limit=limit, cursor=cursor, ordering=ordering)
        seen.extend(rows)
        pages += 1
        if cursor is None:
            return seen, pages


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(st.sampled_from(["甲", "乙", "丙", "A", "b"]), min_size=0, max_size=30),
    limit=st.integers(min_value=1, max_value=7),
    descending=st.booleans(),
)
def test_keyset_page__walk_returns_every_row_once_in_order(names, limit, descending):
    Branch.objects.all().delete()
    Branch.objects.bulk_create(
        Branch(code=f"P{index:03d}", name=name) for index, name in enumerate(names)
    )
    ordering = ("-name", "-pk") if descending else ("name", "pk")
    expected = list(Branch.objects.order_by(*ordering))
    seen, pages = walk(Branch.objects.all(), limit=limit, ordering=ordering)
    assert seen == expected
    assert pages == max(1, -(-len(names) // limit))  # no empty trailing page


@pytest.mark.django_db
def test_keyset_page__rows_inserted_before_the_cursor_do_not_repeat():
    Branch.objects.bulk_create(Branch(code=f"C{index}", name=f"n{index}") for index in range(5))
    first, cursor = keyset_page(Branch.objects.all(), limit=2, ordering=("code", "pk"))
    Branch.objects.create(code="C0a", name="inserted before the cursor")
    second, _ = keyset_page(Branch.objects.all(), limit=2, cursor=cursor, ordering=("code", "pk"))
    assert [branch.code for branch in first] == ["C0", "C1"]
    assert [branch.code for branch in second] == ["C2", "C3"]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_keyset_page__limit_out_of_range_names_the_field(limit):
    with pytest.raises(ValidationFailed) as caught:
        keyset_page(Group.objects.all(), limit=limit)
    assert list(caught.value.fields) == ["limit"]


@pytest.mark.parametrize(
    "cursor", ["%%%", "bm90IGpzb24", encode_cursor([1, 2, 3]), encode_cursor({})]
)
def test_decode_cursor__garbage_is_a_validation_error(cursor):
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, width=2)
    assert list(caught.value.fields) == ["cursor"]


def test_cursor__round_trip():
    assert decode_cursor(encode_cursor(["上海", 42]), width=2) == ["上海", 42]


@pytest.mark.django_db
def test_keyset_page__datetime_ordering_keeps_microseconds():
    from datetime import datetime, timedelta

    base = datetime(2026, 11, 28, 12, 0, 0, 100, tzinfo=UTC)
    Branch.objects.bulk_create(
        Branch(code=f"D{index}", name="n", created_at=base + timedelta(microseconds=index * 200))
        for index in range(6)
    )
    seen, _pages = walk(Branch.objects.all(), limit=2, ordering=("created_at", "pk"))
    assert [branch.code for branch in seen] == [f"D{index}" for index in range(6)]
