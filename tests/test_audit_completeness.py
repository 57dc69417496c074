"""Audit completeness, statically: every public service function that writes to the database
records an audit entry (directly or through a helper in its module), unless it is listed below
with the reason it is exempt. The per-app tests assert the exact entries each service writes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "cpms"
WRITES = {
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}

EXEMPT = {
    "core/services.py:heartbeat_record": "operational telemetry of the scheduler, every minute",
    "users/services/tokens.py:token_authenticate": "last-use timestamp of a token (telemetry)",
    "users/services/tokens.py:token_authenticate_record": (
        "last-use timestamp of a token (telemetry)"
    ),
    "audit/services.py:audit_record": "it is the audit trail",
    "customers/services/merge.py:customer_relations_move": (
        "a step of customer_merge_apply (the merge executor): the customer.merged entry written "
        "in the same transaction lists every relation moved"
    ),
    "holdings/services/custody_state.py:holding_custody_place": (
        "a step of the custody services (check-out, return, transfer): their custody event and "
        "audit entry in the same transaction record where the item went"
    ),
    "audit/services.py:audit_seal": "appends leaves to the audit trail's own tree",
    "audit/services.py:checkpoint_write": "signs the audit trail's own tree",
    "customers/services/identity.py:identity_claim": (
        "the uniqueness claim of an identity document, written inside the transaction of the "
        "registration, update or import whose audit entry records the document"
    ),
    "notifications/services.py:staff_notices_send": (
        "in-app notices to approvers, written inside the approval transaction whose "
        "approval.* audit entry records the event"
    ),
    "ledger/services/accounts.py:asset_get": (
        "reference data (a currency or instrument code and its minor unit) created on first "
        "use inside the transaction of the account or transfer whose audit entry names it"
    ),
}
AUDITED_MODULES = (
    "*/services.py",
    "*/services/*.py",
    "customers/bulk.py",
    "privacy/keys.py",
    "privacy/protected.py",
)


def _calls(function: ast.AST) -> set[str]:
    """Names called in `function`: plain names (helpers of the module, audit_record) and, for
    method calls, the method name prefixed with '.' (so `set(...)` is not `.set(...)`)."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add("." + node.func.attr)
    return names


def _functions(source: str) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def unaudited_writers(source: str, *siblings: str) -> list[str]:
    """Public functions of `source` that write without an audit entry, following calls to
    helpers in `source` and in its `siblings` (the other modules of a services package, whose
    helpers it imports by name)."""
    functions = {}
    for other in siblings:
        functions.update(_functions(other))
    own = _functions(source)
    functions.update(own)

    def closure(name: str, seen: set[str]) -> set[str]:
        if name in seen or name not in functions:
            return set()
        seen.add(name)
        calls = _calls(functions[name])
        for callee in list(calls):
            calls |= closure(callee, seen)
            calls |= closure(callee.lstrip("."), seen)  # module.helper(...) in the package
        return calls

    offenders = []
    for name in own:
        if name.startswith("_"):
            continue
        calls = closure(name, set())
        writes = {call[1:] for call in calls if call.startswith(".")} & WRITES
        audited = calls & {"audit_record", "audit_verification_record", "audit_export_record"}
        audited |= {call for call in calls if call.lstrip(".") == "audit_record"}
        if writes and not audited:
            offenders.append(name)
    return offenders


def test_unaudited_writers__detects_a_write_without_audit():
    source = (
        "def ok(*, actor):\n    Thing.objects.create()\n    audit_record(actor=actor)\n"
        "def bad(*, actor):\n    Thing.objects.create()\n"
        "def via_helper(*, actor):\n    _write()\n"
        "def _write():\n    Thing.objects.filter().update(x=1)\n"
        "def reader(*, actor):\n    return Thing.objects.count()\n"
    )
    assert unaudited_writers(source) == ["bad", "via_helper"]


def test_every_writing_service_is_audited():
    offenders = []
    paths = sorted({path for pattern in AUDITED_MODULES for path in ROOT.glob(pattern)})
    assert len(paths) >= 9
    for path in paths:
        relative = path.relative_to(ROOT).as_posix()
        # helpers a module imports by name from its app's services package
        package = path.parent if path.parent.name == "services" else path.parent / "services"
        siblings = [other.read_text() for other in package.glob("*.py") if other != path]
        for name in unaudited_writers(path.read_text(), *siblings):
            if f"{relative}:{name}" not in EXEMPT:
                offenders.append(f"{relative}:{name}")
    assert offenders == []
