"""Retail's purchase hooks: retail (layer 10) never imports the apps above it; points
registers its earn and reversal handlers in `PointsConfig.ready()`, and handlers run in the
purchase's or return's transaction (see test_services for rollback and the exact seam)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cpms.retail
from cpms.retail import hooks

RETAIL = Path(cpms.retail.__file__).parent
HIGHER_LAYERS = ("cpms.points", "cpms.dataio", "cpms.console")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_retail_does_not_import_points_or_any_higher_layer():
    offending = sorted(
        f"{path.relative_to(RETAIL)}: {name}"
        for path in RETAIL.rglob("*.py")
        for name in _imported_modules(path)
        if name.startswith(HIGHER_LAYERS)
    )
    assert offending == []


def test_points_registers_its_handlers_at_start_up():
    from cpms.points import services as points

    registered = {hook.name: hook for hook in hooks.registered()}

    assert registered["points"].on_purchase_recorded is points.points_earn_for_purchase
    assert registered["points"].on_return_recorded is points.points_reverse_for_return


def test_register__same_handlers_again_is_harmless_different_ones_are_refused():
    def one(**_kwargs):
        return None

    def two(**_kwargs):
        return None

    try:
        hooks.register("tests-x", on_purchase_recorded=one)
        hooks.register("tests-x", on_purchase_recorded=one)
        with pytest.raises(ValueError):
            hooks.register("tests-x", on_purchase_recorded=two)
        hooks.register("tests-x", on_purchase_recorded=two, replace=True)
        assert [h.on_purchase_recorded for h in hooks.registered() if h.name == "tests-x"] == [two]
    finally:
        hooks.unregister("tests-x")
    with pytest.raises(ValueError):
        hooks.register("", on_purchase_recorded=one)


def test_handlers_run_in_registration_order_and_skip_missing_events(purchase_hook):
    calls = []
    purchase_hook(on_purchase_recorded=lambda **kw: calls.append(("first", kw["purchase"])))
    purchase_hook(on_return_recorded=lambda **kw: calls.append(("return", kw["purchase_return"])))
    purchase_hook(on_purchase_recorded=lambda **kw: calls.append(("second", kw["purchase"])))
    points = {h.name: h for h in hooks.registered()}.get("points")

    with pytest.MonkeyPatch.context() as patch:  # leave the points handlers out of this one
        patch.setitem(hooks._HOOKS, "points", hooks.PurchaseHooks(name="points"))
        hooks.purchase_recorded(actor=None, purchase="P")
        hooks.return_recorded(actor=None, purchase_return="R")

    assert calls == [("first", "P"), ("second", "P"), ("return", "R")]
    assert {h.name: h for h in hooks.registered()}.get("points") == points
