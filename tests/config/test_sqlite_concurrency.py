"""Concurrent writers on the default SQLite configuration never see "database is locked" and
never lose an update: each transaction takes the write lock when it begins (IMMEDIATE)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from cpms.config.env import database_config

WRITERS = 6
INCREMENTS = 40


@pytest.fixture
def sqlite_alias(tmp_path, django_db_blocker):
    """A second database alias on a file, configured exactly like CPMS's default SQLite."""
    alias = "concurrency"
    config = connections.configure_settings(
        {
            "default": dict(connections.settings["default"]),
            alias: database_config(f"sqlite:///{tmp_path / 'concurrency.sqlite3'}"),
        }
    )
    connections.settings[alias] = config[alias]
    with django_db_blocker.unblock():
        yield alias
        connections[alias].close()
    del connections.settings[alias]


def test_sqlite__concurrent_read_modify_write_transactions_all_succeed(sqlite_alias):
    # given a counter row in a file database with CPMS's SQLite settings
    with connections[sqlite_alias].cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        cursor.execute("INSERT INTO counter (id, value) VALUES (1, 0)")
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer() -> None:
        connection = connections[sqlite_alias]  # one connection per thread
        try:
            start.wait()
            for _ in range(INCREMENTS):
                # a read then a write: under DEFERRED this is the lock-upgrade deadlock
                with transaction.atomic(using=sqlite_alias), connection.cursor() as cursor:
                    cursor.execute("SELECT value FROM counter WHERE id = 1")
                    (value,) = cursor.fetchone()
                    cursor.execute("UPDATE counter SET value = %s WHERE id = 1", [value + 1])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    # when several writers increment at once
    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then none failed and no increment was lost
    assert errors == []
    with connections[sqlite_alias].cursor() as cursor:
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        assert cursor.fetchone() == (WRITERS * INCREMENTS,)
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)
