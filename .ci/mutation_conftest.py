"""Copied by .ci/mutation into each mutation work directory as the root conftest.py.

mutmut runs pytest once per mutant in a forked process; creating the test database with every
migration each time would cost seconds per mutant. Instead the driver builds one migrated SQLite
database (the template) before mutmut starts, and each pytest session copies it to a file of its
own and reuses it (`--reuse-db`), so parallel mutants never share a database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TEMPLATE = os.environ.get("CPMS_MUTATION_DB_TEMPLATE", "")
_private: list[Path] = []


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    from django.conf import settings

    if not TEMPLATE:
        return
    template = Path(TEMPLATE)
    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    if os.environ.get("CPMS_MUTATION_DB_BUILD") == "1":
        test_settings["NAME"] = str(template)
        return
    private = template.with_name(f"db-{os.getpid()}.sqlite3")
    shutil.copyfile(template, private)
    _private.append(private)
    test_settings["NAME"] = str(private)


def pytest_sessionfinish(session, exitstatus):
    while _private:
        path = _private.pop()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
