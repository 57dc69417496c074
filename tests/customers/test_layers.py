"""The customers app (layer 7) imports no app of a higher layer: those contribute to it through
the registries it offers (`tabs.register_tab`, `name_matching.register_name_matcher`,
`services.register_clash_rule`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cpms" / "customers"
HIGHER = {
    "holdings",
    "quality",
    "custody",
    "documents",
    "ledger",
    "loans",
    "portfolios",
    "reconciliation",
    "retail",
    "points",
    "dataio",
    "console",
}


def _imported_apps(source: str) -> set[str]:
    apps = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        apps |= {name.split(".")[1] for name in names if name.startswith("cpms.")}
    return apps


def test_imported_apps__finds_module_and_function_level_imports():
    source = "import cpms.core\ndef f():\n    from cpms.quality.matching import x\n"
    assert _imported_apps(source) == {"core", "quality"}


def test_customers_imports_no_higher_app():
    offenders = {
        f"{path.relative_to(PACKAGE)}: {app}"
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
        for app in _imported_apps(path.read_text()) & HIGHER
    }
    assert offenders == set()
