"""Architecture rules from docs/architecture.md, kept true by the suite."""

from __future__ import annotations

import ast
from dataclasses import dataclass
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


# ---------------------------------------------------------------------------------------------
# Layers (docs/architecture.md, "Layers of apps"). An app imports only apps of lower layers;
# apps in one layer do not import each other (a lower app offers a registry instead).

LAYERS: dict[str, int] = {
    "core": 0,
    "audit": 1,
    "users": 2,
    "approvals": 3,
    "access": 4,
    "privacy": 5,
    "notifications": 6,
    "customers": 7,
    "holdings": 8,
    "quality": 8,
    "custody": 9,
    "documents": 9,
    "ledger": 9,
    "loans": 10,
    "portfolios": 10,
    "reconciliation": 10,
    "retail": 10,
    "points": 11,
    "dataio": 12,
    "console": 13,
}
PROJECT = {"config", "cli.py", "__main__.py", "__init__.py", "locale", "templates"}
LAZY_MARK = "# lazy:"


def app_packages() -> set[str]:
    return {
        path.name for path in ROOT.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    }


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imported_apps(node: ast.AST) -> list[str]:
    """The CPMS apps an import statement names (`from cpms.x.y import z`, `import cpms.x`,
    `from cpms import x`)."""
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
        modules = [node.module]
        if node.module == "cpms":
            modules = [f"cpms.{alias.name}" for alias in node.names]
    else:
        return []
    return [m.split(".")[1] for m in modules if m.startswith("cpms.") and m.count(".") >= 1]


@dataclass(frozen=True)
class CrossImport:
    source: str  # app importing
    target: str  # app imported
    where: str  # path:line
    lazy: bool  # inside a function
    ready: bool  # inside AppConfig.ready(): registrations, by Django's rules
    commented: bool  # the line carries "# lazy: <why>"


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def cross_app_imports(path: Path, source_app: str) -> list[CrossImport]:
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if _type_checking_only(node, parents):
            continue
        function = _enclosing_function(node, parents)
        span = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
        for target in imported_apps(node):
            if target == source_app or target == "__version__":
                continue
            found.append(
                CrossImport(
                    source=source_app,
                    target=target,
                    where=f"{_relative(path)}:{node.lineno}",
                    lazy=function is not None,
                    ready=path.name == "apps.py" and getattr(function, "name", "") == "ready",
                    commented=any(LAZY_MARK in line for line in span),
                )
            )
    return found


def all_cross_imports() -> list[CrossImport]:
    found = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        app = relative.parts[0]
        if app in PROJECT or len(relative.parts) == 1:
            continue
        found += cross_app_imports(path, app)
    return found


def layer_violations(imports: list[CrossImport]) -> list[str]:
    offenders = []
    for item in imports:
        if item.target not in LAYERS:
            offenders.append(f"{item.where}: {item.source} imports {item.target} (not an app)")
        elif LAYERS[item.target] >= LAYERS[item.source]:
            kind = "same layer" if LAYERS[item.target] == LAYERS[item.source] else "upward"
            offenders.append(f"{item.where}: {item.source} imports {item.target} ({kind})")
    return offenders


def test_every_app_has_a_layer():
    assert app_packages() - PROJECT == set(LAYERS)


def test_apps_import_only_lower_layers():
    assert layer_violations(all_cross_imports()) == []


def test_function_level_imports_between_apps_say_why():
    """A function-level import of another app hides a dependency: allowed where the table
    allows it and a `# lazy: <why>` comment says why (registrations in AppConfig.ready() are
    function-level by Django's rules and need none)."""
    offenders = [
        item.where
        for item in all_cross_imports()
        if item.lazy and not item.ready and not item.commented
    ]
    assert offenders == []


def test_layer_check__catches_upward_same_layer_and_unknown_imports(tmp_path):
    module = tmp_path / "services.py"
    module.write_text(
        "from cpms.core import errors\n"
        "from cpms.ledger import engine\n"
        "def f():\n"
        "    from cpms.custody import receipt  # lazy: example\n"
        "    import cpms.points.services\n"
        "    from cpms import nowhere\n"
    )
    found = cross_app_imports(module, "ledger")
    assert [(i.target, i.lazy, i.commented) for i in found] == [
        ("core", False, False),
        ("custody", True, True),
        ("points", True, False),
        ("nowhere", True, False),
    ]
    assert len(layer_violations(found)) == 3


def test_no_module_is_over_700_lines():
    offenders = [
        f"{path.relative_to(ROOT)}: {count}"
        for path in ROOT.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 700
    ]
    assert offenders == []
