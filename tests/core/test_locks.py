"""cpms.core.locks: rows locked in (table name, primary key) order, returned by primary key.

The SQL-shape tests run on both databases (on SQLite Django leaves FOR UPDATE out; the order of
the queries and of the keys is the same). The tests that hold a lock against a second
connection need PostgreSQL: the in-memory SQLite test database cannot be shared between threads,
and SQLite serialises writers with BEGIN IMMEDIATE instead of row locks."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from cpms.core import locks
from cpms.users.models import Branch, User
from tests.audit.helpers import audit_flushable  # noqa: F401 (fixture)

POSTGRES = connection.vendor == "postgresql"


def _branches(count: int) -> list[Branch]:
    """Branches whose codes sort against their primary keys (Branch orders by code)."""
    return [
        Branch.objects.create(code=f"L{count - index:03d}", name=f"lock {index}")
        for index in range(count)
    ]


def _keys_in(sql: str) -> list[int]:
    found = re.search(r"IN \(([^)]*)\)", sql)
    assert found, sql
    return [int(value) for value in found.group(1).split(",")]


def _lock_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if " IN (" in query["sql"]]


@pytest.mark.django_db
def test_lock_rows__ascending_primary_keys_in_sql_and_result():
    rows = _branches(5)
    wanted = [rows[3].pk, rows[0].pk, rows[4].pk, rows[0].pk, str(rows[1].pk)]
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = locks.lock_rows(Branch, wanted)
    assert list(locked) == sorted({rows[i].pk for i in (0, 1, 3, 4)})
    assert all(locked[pk].pk == pk and isinstance(locked[pk], Branch) for pk in locked)
    [sql] = _lock_queries(captured)
    assert _keys_in(sql) == list(locked)
    # the model's own ordering (by code) is replaced by the primary key
    assert re.search(r'ORDER BY "users_branch"\."id" ASC\s*(FOR UPDATE|$)', sql), sql
    if POSTGRES:
        assert sql.endswith('FOR UPDATE OF "users_branch"')
    else:
        assert "FOR UPDATE" not in sql


@pytest.mark.django_db
def test_lock_rows__missing_and_filtered_rows_are_absent():
    rows = _branches(3)
    rows[1].is_active = False
    rows[1].save()
    with transaction.atomic():
        locked = locks.lock_rows(
            Branch.objects.filter(is_active=True), [rows[0].pk, rows[1].pk, 999_999, None]
        )
        assert list(locked) == [rows[0].pk]
        assert locks.lock_rows(Branch, []) == {}


@pytest.mark.django_db
def test_lock_rows__without_keys_every_row_of_the_queryset_in_key_order():
    rows = _branches(4)
    rows[2].is_active = False
    rows[2].save()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = locks.lock_rows(Branch.objects.filter(is_active=True, code__startswith="L"))
    assert list(locked) == sorted(row.pk for i, row in enumerate(rows) if i != 2)
    [sql] = [query["sql"] for query in captured.captured_queries]
    assert re.search(r'ORDER BY "users_branch"\."id" ASC\s*(FOR UPDATE|$)', sql), sql
    if POSTGRES:
        assert sql.endswith('FOR UPDATE OF "users_branch"')


@pytest.mark.django_db
def test_lock_rows__chunks_stay_in_ascending_order(monkeypatch):
    monkeypatch.setattr(locks, "CHUNK", 2)
    rows = _branches(5)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = locks.lock_rows(Branch, reversed([row.pk for row in rows]))
    assert list(locked) == sorted(row.pk for row in rows)
    keys = [_keys_in(sql) for sql in _lock_queries(captured)]
    assert [len(chunk) for chunk in keys] == [2, 2, 1]
    assert [key for chunk in keys for key in chunk] == list(locked)


@pytest.mark.django_db
def test_lock_rows__joined_rows_are_not_locked():
    branch = Branch.objects.create(code="J01", name="joined")
    user = User.objects.create(username="lock-joined", branch=branch)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = locks.lock_rows(User.objects.select_related("branch"), [user.pk])
    assert locked[user.pk].branch == branch
    [sql] = _lock_queries(captured)
    if POSTGRES:
        assert sql.endswith('FOR UPDATE OF "users_user"')


def test_lock_rows__refused_outside_a_transaction():
    # no database access at all: the check comes before any query (a test marked django_db
    # would run inside the test's own transaction)
    with pytest.raises(TransactionManagementError, match="users_branch"):
        locks.lock_rows(Branch, [1])


@pytest.mark.django_db
def test_lock_row__one_row_or_does_not_exist():
    [branch] = _branches(1)
    with transaction.atomic():
        assert locks.lock_row(Branch, str(branch.pk)) == branch
        with pytest.raises(Branch.DoesNotExist):
            locks.lock_row(Branch.objects.filter(is_active=False), branch.pk)


@pytest.mark.django_db
def test_lock_tables__tables_in_name_order_each_in_key_order():
    rows = _branches(2)
    users = [User.objects.create(username=f"lock-{n}", branch=rows[0]) for n in range(2)]
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = locks.lock_tables(
            [
                (User, [users[1].pk, users[0].pk]),
                (Branch.objects.all(), [rows[1].pk, rows[0].pk]),
            ]
        )
    assert list(locked) == [Branch, User]  # users_branch before users_user
    assert list(locked[Branch]) == sorted(row.pk for row in rows)
    assert list(locked[User]) == sorted(user.pk for user in users)
    tables = [re.search(r'FROM "(\w+)"', sql).group(1) for sql in _lock_queries(captured)]
    assert tables == ["users_branch", "users_user"]


@pytest.mark.django_db
def test_lock_tables__one_request_per_table():
    with transaction.atomic(), pytest.raises(ValueError, match="users_branch"):
        locks.lock_tables([(Branch, [1]), (Branch.objects.filter(is_active=True), [2])])


# ------------------------------------------------------------------ real locks (PostgreSQL)


def _try_lock_elsewhere(model, pk) -> str:
    """Try to lock one row from another connection without waiting: "locked" when this
    connection holds it, "free" otherwise."""
    outcome: list[str] = []

    def attempt() -> None:
        try:
            with transaction.atomic():
                list(model.objects.select_for_update(nowait=True).filter(pk=pk))
            outcome.append("free")
        except DatabaseError:
            outcome.append("locked")
        finally:
            connection.close()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]


@pytest.mark.postgres_only
@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL: SQLite has no row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("audit_flushable", "reseeded")
def test_lock_rows__holds_the_rows_until_the_transaction_ends():
    branch = Branch.objects.create(code="PG01", name="held")
    other = Branch.objects.create(code="PG02", name="not held")
    user = User.objects.create(username="lock-held", branch=other)
    with transaction.atomic():
        locks.lock_rows(Branch, [branch.pk])
        locks.lock_rows(User.objects.select_related("branch"), [user.pk])
        assert _try_lock_elsewhere(Branch, branch.pk) == "locked"
        assert _try_lock_elsewhere(User, user.pk) == "locked"
        assert _try_lock_elsewhere(Branch, other.pk) == "free"  # joined, not locked
    assert _try_lock_elsewhere(Branch, branch.pk) == "free"
