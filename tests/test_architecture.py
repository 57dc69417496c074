"""Architecture rules from docs/architecture.md, kept true by the suite."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "cpms"
ALWAYS_WRITES = {"save", "delete"}
QUERYSET_WRITES = {
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


QUERYSET_METHODS = {"objects", "filter", "exclude", "all", "select_related", "select_for_update"}


def _on_queryset(node: ast.AST) -> bool:
    """True when the call chain goes through a manager or queryset (Model.objects..., .filter())."""
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Attribute) and node.attr in QUERYSET_METHODS:
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def thin_files() -> list[Path]:
    files = [path for path in ROOT.rglob("*.py") if path.name in THIN_MODULES]
    files += list(ROOT.rglob("management/commands/*.py"))
    return files


def writes_in(source: str) -> list[int]:
    """Line numbers of model writes in `source` (decorators such as @router.delete excluded)."""
    found = []
    tree = ast.parse(source)
    decorators = {
        id(decorator)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for decorator in node.decorator_list
    }
    for node in ast.walk(tree):
        if id(node) in decorators:  # @router.delete(...) declares a route, it writes nothing
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                node.func.attr in ALWAYS_WRITES
                or (node.func.attr in QUERYSET_WRITES and _on_queryset(node.func.value))
            )
        ):
            found.append(node.lineno)
    return found


def test_writes_in__recognises_writes_and_ignores_look_alikes():
    source = (
        "Branch.objects.create(code='x')\n"
        "Branch.objects.filter(pk=1).update(name='y')\n"
        "branch.save()\n"
        "values = {}\n"
        "values.update(a=1)\n"
        "@router.delete('/x')\n"
        "def remove(request): pass\n"
    )
    assert writes_in(source) == [1, 2, 3]


def test_only_services_write():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in thin_files()
        for line in writes_in(path.read_text())
    ]
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


LEDGER_WRITERS = {"ledger/engine.py", "ledger/services.py"}  # services only opens shards


def _chain_root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def ledger_writes_in(source: str) -> list[int]:
    """Lines that write `Transfer` or `Balance` rows through the ORM or name their tables in
    SQL text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERYSET_WRITES
            and _chain_root(node.func.value) in {"Transfer", "Balance"}
        ) or (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(
                f"{verb} {table}" in node.value.upper()
                for verb in ("UPDATE", "INSERT INTO", "DELETE FROM")
                for table in ("LEDGER_TRANSFER", "LEDGER_BALANCE")
            )
        ):
            found.append(node.lineno)
    return found


def test_ledger_writes_in__recognises_orm_and_sql_writes():
    source = (
        "Transfer.objects.bulk_create(rows)\n"
        "Balance.objects.filter(pk=1).update(debits_posted=1)\n"
        "cursor.execute('UPDATE ledger_balance SET x = 1')\n"
        "Transfer.objects.filter(kind='posted').count()\n"
    )
    assert ledger_writes_in(source) == [1, 2, 3]


def test_only_the_ledger_engine_writes_transfers_and_balances():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in LEDGER_WRITERS
        for line in ledger_writes_in(path.read_text())
    ]
    assert offenders == []
