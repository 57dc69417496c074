"""Row locks taken in one global order, so that two transactions locking overlapping rows wait
for each other instead of deadlocking.

The order is (table name, primary key): rows of one table in ascending primary-key order
(`lock_rows`), several tables one after the other in the order of their table names
(`lock_tables`). Two transactions that both follow it can never each hold a row the other one
wants. A service that locks more than one row takes them through these functions instead of
sorting primary keys by hand.

PostgreSQL: one `SELECT … WHERE pk IN (…) ORDER BY pk FOR UPDATE OF <table>` per chunk of
primary keys, chunks in ascending order; the rows are locked as the sorted scan returns them,
so in primary-key order. Only the rows of the named table are locked (`of=("self",)`), even
when the queryset joins others with `select_related`: a joined row locked on the side would
break the order (and PostgreSQL refuses to lock the nullable side of an outer join).

SQLite: there are no row locks and Django leaves `FOR UPDATE` out of the SQL. Every write
transaction there is `BEGIN IMMEDIATE` (`config/env.py`), which takes the database's single
write lock when the transaction opens, so writers are serialised already and no order of row
locks can deadlock. The functions run the same queries in the same order on both databases,
so the code path the tests exercise is the one production runs.

Both databases: the functions refuse to run outside `transaction.atomic()` (a lock released at
once protects nothing; PostgreSQL would refuse too, SQLite would silently not lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model, QuerySet
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

# primary keys per query: well under SQLite's limit of bound parameters
CHUNK = 500


def _queryset(source: type[M] | QuerySet[M]) -> QuerySet[M]:
    if isinstance(source, QuerySet):
        return source
    return source._default_manager.all()


def _ordered_keys(model: type[Model], pks: Iterable[Any]) -> list[Any]:
    """The distinct primary keys in ascending order, converted to the field's Python type so
    that "10" and 9 sort as the database sorts them. `None` (an unsaved row) is left out."""
    field = model._meta.pk
    return sorted({field.to_python(pk) for pk in pks if pk is not None})


def _require_transaction(queryset: QuerySet[Any]) -> None:
    if not transaction.get_connection(queryset.db).in_atomic_block:
        raise TransactionManagementError(
            f"Locking {queryset.model._meta.db_table} rows needs a transaction: "
            "call it inside transaction.atomic()."
        )


def lock_rows(source: type[M] | QuerySet[M], pks: Iterable[Any] | None = None) -> dict[Any, M]:
    """Lock the rows of `source` (a model, or an unsliced queryset of one: its filters, scoping
    and `select_related` apply) whose primary keys are in `pks`, in ascending primary-key
    order, and return them by primary key in that order. Rows not found (or filtered out by
    the queryset) are absent from the result: the caller decides whether that is an error.
    `pks=None` locks every row the queryset selects (one query, same order)."""
    queryset = _queryset(source).select_for_update(of=("self",))
    _require_transaction(queryset)
    if pks is None:
        return {row.pk: row for row in queryset.order_by("pk")}
    keys = _ordered_keys(queryset.model, pks)
    rows: dict[Any, M] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        for row in queryset.filter(pk__in=chunk).order_by("pk"):
            rows[row.pk] = row
    return rows


def lock_row(source: type[M] | QuerySet[M], pk: Any) -> M:
    """One row, locked (`lock_rows` for a single primary key); raises the model's
    `DoesNotExist`, as `.get()` does, when it is missing or filtered out."""
    queryset = _queryset(source)
    row = lock_rows(queryset, [pk]).get(queryset.model._meta.pk.to_python(pk))
    if row is None:
        raise queryset.model.DoesNotExist(
            f"{queryset.model._meta.object_name} matching query does not exist."
        )
    return row


def lock_tables(
    requests: Iterable[tuple[type[Model] | QuerySet[Any], Iterable[Any]]],
) -> dict[type[Model], dict[Any, Any]]:
    """Lock rows of several tables in the global order: table by table in the order of their
    table names, each in primary-key order (`lock_rows`). `requests` holds (model or queryset,
    primary keys) pairs, at most one per table; the result maps each model to its rows by
    primary key."""
    by_table: dict[str, tuple[QuerySet[Any], Iterable[Any]]] = {}
    for source, pks in requests:
        queryset = _queryset(source)
        table = queryset.model._meta.db_table
        if table in by_table:
            raise ValueError(f"{table} is requested twice: merge its primary keys first.")
        by_table[table] = (queryset, pks)
    return {
        queryset.model: lock_rows(queryset, pks)
        for _table, (queryset, pks) in sorted(by_table.items())
    }
