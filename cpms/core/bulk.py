"""Bulk writes for the import paths: one prepared statement per batch, executed for many rows.

Django's `bulk_create` compiles SQL per value and `bulk_update` builds one CASE per field and
row; at import sizes (100k rows) that dominates. These write exactly the columns Django would,
with each field's own database preparation. They name no app: the caller passes its own model
(tests/test_architecture.py lists the callers in RAW_SQL_WRITERS), inside its transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection

# field types whose Python value needs the field's database preparation
CONVERTED_TYPES = {"DateField", "DateTimeField", "JSONField", "DecimalField", "UUIDField"}
EXECUTE_CHUNK = 500


def _prepared(fields: list[Any], objects: list[Any], *, with_pk: bool) -> list[list[Any]]:
    """The parameter rows of a prepared statement: each field's value, through the field's own
    database preparation where the type needs one (and the primary key last for an UPDATE)."""
    plan = [
        (each.attname, each if each.get_internal_type() in CONVERTED_TYPES else None)
        for each in fields
    ]
    rows = []
    for instance in objects:
        row = []
        for attname, model_field in plan:
            value = getattr(instance, attname)
            if model_field is not None:
                value = model_field.get_db_prep_save(value, connection)
            row.append(value)
        if with_pk:
            row.append(instance.pk)
        rows.append(row)
    return rows


def _execute_many(sql: str, rows: list[list[Any]]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), EXECUTE_CHUNK):
            cursor.executemany(sql, rows[start : start + EXECUTE_CHUNK])


def insert_rows(model: Any, objects: list[Any]) -> None:
    """INSERT model instances (primary keys already set) with one prepared statement per
    batch: what bulk_create writes, without its per-value SQL compilation (the import's
    hottest path). Values go through each field's own database preparation."""
    if not objects:
        return
    fields = [
        each
        for each in model._meta.concrete_fields
        if not (each.primary_key and getattr(objects[0], each.attname) is None)
    ]
    columns = ", ".join(connection.ops.quote_name(each.column) for each in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model)
    _execute_many(sql, _prepared(fields, objects, with_pk=False))
    for instance in objects:
        instance._state.adding = False
        instance._state.db = connection.alias


def update_rows(model: Any, objects: list[Any], names: list[str]) -> None:
    """UPDATE the given fields of model instances with one prepared statement executed for
    every row (Django's bulk_update builds one CASE per field and row, which is much slower)."""
    if not objects:
        return
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table = quote(model._meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # noqa: S608
    _execute_many(sql, _prepared(fields, objects, with_pk=True))
