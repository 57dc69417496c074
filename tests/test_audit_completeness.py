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
    "users/services.py:token_authenticate": "last-use timestamp of a token (telemetry)",
    "users/services.py:token_authenticate_record": "last-use timestamp of a token (telemetry)",
    "audit/services.py:audit_record": "it is the audit trail",
    "audit/services.py:audit_seal": "appends leaves to the audit trail's own tree",
    "audit/services.py:checkpoint_write": "signs the audit trail's own tree",
    "customers/services.py:identity_claim": (
        "the uniqueness claim of an identity document, written inside the transaction of the "
        "registration, update or import whose audit entry records the document"
    ),
    "notifications/services.py:staff_notices_send": (
        "in-app notices to approvers, written inside the approval transaction whose "
        "approval.* audit entry records the event"
    ),
    "ledger/services.py:asset_get": (
        "reference data (a currency or instrument code and its minor unit) created on first "
        "use inside the transaction of the account or transfer whose audit entry names it"
    ),
}
AUDITED_MODULES = ("*/services.py", "users/security.py", "privacy/keys.py", "privacy/protected.py")


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


def unaudited_writers(source: str) -> list[str]:
    tree = ast.parse(source)
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }

    def closure(name: str, seen: set[str]) -> set[str]:
        if name in seen or name not in functions:
            return set()
        seen.add(name)
        calls = _calls(functions[name])
        for callee in list(calls):
            calls |= closure(callee, seen)
        return calls

    offenders = []
    for name in functions:
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
        for name in unaudited_writers(path.read_text()):
            if f"{relative}:{name}" not in EXEMPT:
                offenders.append(f"{relative}:{name}")
    assert offenders == []
