"""Architecture rules from docs/architecture.md, kept true by the suite."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "cpms"
WRITE_METHODS = {
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}
THIN_MODULES = ("views.py", "api.py", "tasks.py", "urls.py", "schemas.py", "selectors.py")


def thin_files() -> list[Path]:
    files = [path for path in ROOT.rglob("*.py") if path.name in THIN_MODULES]
    files += list(ROOT.rglob("management/commands/*.py"))
    return files


def test_only_services_write():
    offenders = []
    for path in thin_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in WRITE_METHODS
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
    assert offenders == []


def test_no_django_signals_for_domain_behaviour():
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "django.db.models.signals" in path.read_text() or "@receiver" in path.read_text()
    ]
    assert offenders == []


def test_thin_modules_are_scanned():
    names = {path.name for path in thin_files()}
    assert {"views.py", "api.py", "token.py", "demo.py"} <= names
