"""Database triggers that refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) on the audit
tables. Installed by migration 0002; the functions are also used by tests that play a database
superuser (drop the guard, tamper, put it back)."""

from __future__ import annotations

from typing import Any

AUDIT_TABLES = ("audit_auditentry", "audit_auditleaf", "audit_auditnode", "audit_auditcheckpoint")
MESSAGE = "audit tables are append-only"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cpms_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _pg_install(table: str) -> list[str]:
    return [
        f'CREATE OR REPLACE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON "{table}" '
        "FOR EACH ROW EXECUTE FUNCTION cpms_audit_refuse();",
        f'CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{table}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION cpms_audit_refuse();",
    ]


def _sqlite_install(table: str) -> list[str]:
    return [
        f'CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON "{table}" '
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {verb} on {table} refused'); END;"
        for verb in ("UPDATE", "DELETE")
    ]


def install_statements(vendor: str, tables: tuple[str, ...] = AUDIT_TABLES) -> list[str]:
    if vendor == "postgresql":
        return [_PG_FUNCTION] + [sql for table in tables for sql in _pg_install(table)]
    if vendor == "sqlite":
        return [sql for table in tables for sql in _sqlite_install(table)]
    raise NotImplementedError(f"no audit triggers for {vendor}")


def remove_statements(vendor: str, tables: tuple[str, ...] = AUDIT_TABLES) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {table}_{kind} ON "{table}";'
            for table in tables
            for kind in ("no_change", "no_truncate")
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_{verb};"
            for table in tables
            for verb in ("update", "delete")
        ]
    raise NotImplementedError(f"no audit triggers for {vendor}")


def install(connection: Any, tables: tuple[str, ...] = AUDIT_TABLES) -> None:
    with connection.cursor() as cursor:
        for sql in install_statements(connection.vendor, tables):
            cursor.execute(sql)


def remove(connection: Any, tables: tuple[str, ...] = AUDIT_TABLES) -> None:
    with connection.cursor() as cursor:
        for sql in remove_statements(connection.vendor, tables):
            cursor.execute(sql)
