"""Architecture rules from docs/architecture.md, kept true by the suite."""

from __future__ import annotations

import ast
import re
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


LEDGER_WRITERS = {"ledger/engine.py"}


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


# ---------------------------------------------------------------------------------------------
# Ownership: each model is written only by the app that defines it (its services or engine).

WRITE_METHODS = QUERYSET_WRITES | {"delete", "save"}
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE)
# The one sanctioned cross-app write: merging two customers re-points every foreign key to
# Customer, in any app, generically (docs/data_quality.md). Path: function.
OWNERSHIP_EXCEPTIONS = {("customers/services/merge.py", "customer_relations_move")}


def model_owners() -> dict[str, str]:
    """Model class name -> owning app, from each app's models module(s)."""
    owners = {}
    for path in list(ROOT.glob("*/models.py")) + list(ROOT.glob("*/models/*.py")):
        app = path.relative_to(ROOT).parts[0]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not any(
                isinstance(base, ast.Attribute) and base.attr in {"TextChoices", "IntegerChoices"}
                for base in node.bases
            ):
                owners.setdefault(node.name, app)
    return owners


def table_owners() -> dict[str, str]:
    """Database table -> owning app (Django's default `<app label>_<model>` names)."""
    owners = {}
    for name, app in model_owners().items():
        owners[f"{app}_{name.lower()}"] = app
    return owners


def _function_of(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    function = _enclosing_function(node, parents)
    return getattr(function, "name", "")


def foreign_writes(path: Path, app: str, owners: dict[str, str], tables: dict[str, str]):
    """(line, model or table, function) of writes in `path` to models another app owns: ORM
    calls through `Model.objects` (and instances bound from `Model(...)` or `Model.objects`
    in the same function), and SQL text naming another app's table."""
    text = path.read_text()
    tree = ast.parse(text)
    parents = _parents(tree)
    found = []
    bound: dict[tuple[str, str], str] = {}  # (function, variable) -> model
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            root = _chain_root(node.value)
            if isinstance(target, ast.Name) and root in owners and owners[root] != app:
                bound[(_function_of(node, parents), target.id)] = root
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            root = _chain_root(node.func.value)
            if method in BULK_WRITERS and node.args:
                model = _chain_root(node.args[0])
                if model in owners and owners[model] != app:
                    found.append((node.lineno, model, _function_of(node, parents)))
                continue
            if method not in WRITE_METHODS or root is None:
                continue
            model = None
            if root in owners and owners[root] != app and _on_queryset(node.func.value):
                model = root
            elif method in {"save", "delete"}:
                model = bound.get((_function_of(node, parents), root))
            if model:
                found.append((node.lineno, model, _function_of(node, parents)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in BULK_WRITERS
            and node.args
        ):
            model = _chain_root(node.args[0])
            if model in owners and owners[model] != app:
                found.append((node.lineno, model, _function_of(node, parents)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in SQL_WRITE.findall(node.value):
                owner = tables.get(table.lower())
                if owner is not None and owner != app:
                    found.append((node.lineno, table, _function_of(node, parents)))
    return found


def test_foreign_writes__recognises_orm_instance_and_sql_writes(tmp_path):
    module = tmp_path / "services.py"
    module.write_text(
        "def f():\n"
        "    Customer.objects.filter(pk=1).update(name='x')\n"
        "    customer = Customer.objects.select_for_update().get(pk=1)\n"
        "    customer.save()\n"
        "    Holding.objects.create(kind='x')\n"
        "    cursor.execute('UPDATE customers_customer SET x = 1')\n"
        "    Customer.objects.filter(pk=1).count()\n"
        "    insert_rows(Customer, rows)\n"
    )
    owners = {"Customer": "customers", "Holding": "holdings"}
    tables = {"customers_customer": "customers"}
    found = foreign_writes(module, "dataio", owners, tables)
    assert sorted(line for line, _model, _function in found) == [2, 4, 5, 6, 8]
    assert foreign_writes(module, "customers", owners, tables) == [(5, "Holding", "f")]


def test_each_model_is_written_only_by_its_own_app():
    owners = model_owners()
    tables = table_owners()
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts or len(relative.parts) == 1:
            continue
        app = relative.parts[0]
        if app in PROJECT:
            continue
        for line, model, function in foreign_writes(path, app, owners, tables):
            if (str(relative), function) not in OWNERSHIP_EXCEPTIONS:
                offenders.append(f"{relative}:{line} {app} writes {model} ({function})")
    assert offenders == []


SQL_WRITE_TEXT = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE
)
# Modules that write with SQL text whose table the text does not name (built from
# `model._meta.db_table`): each writes only its own app's tables, checked by review. A new
# module on this list needs the same review.
RAW_SQL_WRITERS = {
    "audit/services.py",
    "core/bulk.py",  # insert_rows / update_rows: the caller's own model (checked below)
    "ledger/engine.py",
}
BULK_WRITERS = {"insert_rows", "update_rows"}


def sql_write_lines(source: str) -> list[int]:
    """Lines of string or f-string literals holding an INSERT, UPDATE ... SET or DELETE."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        else:
            continue
        if SQL_WRITE_TEXT.search(text) and not text.lstrip().startswith(('"', "'")):
            found.append(node.lineno)
    return found


def test_raw_sql_writes_live_in_known_modules():
    offenders = sorted(
        {
            str(path.relative_to(ROOT))
            for path in ROOT.rglob("*.py")
            if "migrations" not in path.parts and sql_write_lines(path.read_text())
        }
        - RAW_SQL_WRITERS
    )
    assert offenders == []


# ---------------------------------------------------------------------------------------------
# State machines: every status change goes through a core.transitions.StateMachine (`move`).

STATE_FIELDS = {"status", "state"}


def status_writes_in(source: str) -> list[int]:
    """Lines that change a status by hand: `row.status = …` or `….update(status=…)` (creating
    a row with its first status is not a change)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Attribute) and t.attr in STATE_FIELDS for t in targets):
            found.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"update", "bulk_update"}
            and _on_queryset(node.func.value)
            and (
                any(keyword.arg in STATE_FIELDS for keyword in node.keywords)
                or any(
                    isinstance(arg, ast.Constant) and arg.value in STATE_FIELDS
                    for argument in node.args
                    for arg in ast.walk(argument)
                )
            )
        ):
            found.append(node.lineno)
    return found


def test_status_writes_in__recognises_assignments_and_updates():
    source = (
        "row.status = 'closed'\n"
        "Thing.objects.filter(pk=1).update(state='lost')\n"
        "Thing(status='open').save()\n"
        "Thing.objects.bulk_update(rows, ['status'])\n"
        "values.update(status=1)\n"
    )
    assert status_writes_in(source) == [1, 2, 4]


def test_every_status_change_goes_through_a_state_machine():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.parts
        and path.relative_to(ROOT).as_posix() != "core/transitions.py"
        for line in status_writes_in(path.read_text())
    ]
    assert offenders == []


def test_interfaces_own_no_transaction():
    """Views, API operations, tasks and management commands parse input and call services; the
    transaction (and with it all-or-nothing) belongs to the service."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in thin_files() + list(ROOT.rglob("*_views.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute | ast.Name)
        and (node.attr if isinstance(node, ast.Attribute) else node.id) == "atomic"
    ]
    assert offenders == []


def test_api_operations_take_typed_bodies():
    """API operations take Ninja schemas, never a hand-parsed JSON body."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in ROOT.rglob("api.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "loads"
        and _chain_root(node.func.value) == "json"
    ]
    assert offenders == []


def test_no_function_is_over_80_lines():
    """A longer function is a sequence of steps that deserve names (docs/architecture.md)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})"
        for path in ROOT.rglob("*.py")
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > 80
    ]
    assert offenders == []
