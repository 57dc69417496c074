"""The permission matrix: every console page and every API endpoint, against anonymous users,
every default role, staff outside the object's scope, and a portal customer.

Every URL must be declared below; a new page or endpoint without a declaration fails the suite.
On every denial the test asserts that nothing changed (no audit entry, no row)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from cpms.access.models import Grant, PermissionConflict, Role
from cpms.approvals.models import ApprovalDecision, ApprovalRequest
from cpms.approvals.services import approval_submit
from cpms.audit.models import AuditEntry
from cpms.config.api import api
from cpms.users import services as user_services
from cpms.users.choices import Role as DefaultRole
from cpms.users.models import ApiToken, User
from tests.permission_rules import ACCESS_READ, AUTH, INBOX, MAKER, PUBLIC, STAFF, Rule

CONSOLE: dict[str, Rule] = {
    "console:login": Rule(PUBLIC, skip="sign-in flow: tests/users"),
    "console:logout": Rule(AUTH, "POST", skip="sign-out: tests/console"),
    "set_language": Rule(PUBLIC, "POST", skip="language switch: tests/console"),
    "healthz": Rule(PUBLIC),
    "console:dashboard": Rule(STAFF),
    "console:dashboard-counts": Rule(STAFF),
    "console:staff": Rule(STAFF),
    "users:account": Rule(AUTH),
    "users:password-change": Rule(AUTH),
    "users:mfa-verify": Rule(PUBLIC, skip="pending sign-in step: tests/users/test_mfa.py"),
    "users:mfa-enrol": Rule(PUBLIC, skip="pending sign-in step: tests/users/test_mfa.py"),
    "users:reauth": Rule(AUTH),
    "users:recovery-codes-regenerate": Rule(AUTH, "POST", skip="needs re-auth: tests/users"),
    "users:tokens": Rule(STAFF),
    "users:token-create": Rule(STAFF, "POST", skip="needs re-auth: tests/users"),
    "users:token-revoke": Rule(STAFF, "POST", skip="own tokens only: tests/users"),
    "users:security": Rule(("users.unlock", "users.manage")),
    "users:unlock": Rule(("users.unlock",), "POST"),
    "users:mfa-reset": Rule(("users.manage",), "POST", skip="needs re-auth: tests/users"),
    "access:staff-list": Rule(ACCESS_READ),
    "access:role-list": Rule(ACCESS_READ),
    "access:role-create": Rule(("roles.manage",)),
    "access:role-edit": Rule(("roles.manage",)),
    "access:staff-grants": Rule(ACCESS_READ),
    "access:grant-revoke": Rule(("roles.manage",), "POST"),
    "access:conflicts": Rule(ACCESS_READ),
    "access:conflict-remove": Rule(("roles.manage",), "POST"),
    "approvals:inbox": Rule(INBOX),
    "approvals:detail": Rule((MAKER, "approvals.decide", "approvals.configure")),
    "approvals:approve": Rule(("approvals.decide",), "POST"),
    "approvals:reject": Rule(("approvals.decide",), "POST"),
    "approvals:cancel": Rule((MAKER,), "POST"),
    "approvals:policies": Rule(INBOX),
    "approvals:policy-edit": Rule(("approvals.configure",)),
    "audit:entry-list": Rule(("audit.view",)),
    "audit:entry-export": Rule(("audit.export",)),
    "audit:status": Rule(("audit.view", "audit.verify")),
    "audit:verify": Rule(("audit.verify",), "POST"),
    "privacy:keys": Rule(("keys.manage",)),
    "privacy:reveal": Rule(("pii.reveal",), "POST", skip="needs a protected record: tests/privacy"),
    "customers:list": Rule(("customers.view",)),
    "customers:create": Rule(("customers.manage",)),
    "customers:detail": Rule(("customers.view",), scoped=True),
    "customers:edit": Rule(("customers.manage",), scoped=True),
    "customers:status": Rule(("customers.manage",), "POST", scoped=True),
    "customers:consent-grant": Rule(("customers.manage",), "POST", scoped=True),
    "customers:consent-withdraw": Rule(("customers.manage",), "POST", scoped=True),
}

API: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/me"): Rule(AUTH),
    ("GET", "/api/v1/branches"): Rule(AUTH),
    ("GET", "/api/v1/branches/{branch_id}"): Rule(AUTH),
    ("GET", "/api/v1/tokens"): Rule(AUTH),
    ("POST", "/api/v1/tokens"): Rule(STAFF, "POST", skip="own tokens: tests/users"),
    ("DELETE", "/api/v1/tokens/{prefix}"): Rule(STAFF, "DELETE", skip="own tokens: tests/users"),
    ("GET", "/api/v1/access/permissions"): Rule(AUTH),
    ("GET", "/api/v1/access/roles"): Rule(ACCESS_READ),
    ("POST", "/api/v1/access/roles"): Rule(("roles.manage",), "POST"),
    ("GET", "/api/v1/access/roles/{code}"): Rule(ACCESS_READ),
    ("PATCH", "/api/v1/access/roles/{code}"): Rule(("roles.manage",), "PATCH"),
    ("GET", "/api/v1/access/grants"): Rule(ACCESS_READ),
    ("POST", "/api/v1/access/grants"): Rule(("roles.manage",), "POST"),
    ("POST", "/api/v1/access/grants/{grant_id}/revoke"): Rule(("roles.manage",), "POST"),
    ("GET", "/api/v1/access/conflicts"): Rule(ACCESS_READ),
    ("POST", "/api/v1/access/conflicts"): Rule(("roles.manage",), "POST"),
    ("DELETE", "/api/v1/access/conflicts/{conflict_id}"): Rule(("roles.manage",), "DELETE"),
    ("GET", "/api/v1/approvals/requests"): Rule(INBOX),
    ("GET", "/api/v1/approvals/requests/{request_id}"): Rule(
        (MAKER, "approvals.decide", "approvals.configure")
    ),
    ("POST", "/api/v1/approvals/requests/{request_id}/approve"): Rule(
        ("approvals.decide",), "POST"
    ),
    ("POST", "/api/v1/approvals/requests/{request_id}/reject"): Rule(("approvals.decide",), "POST"),
    ("POST", "/api/v1/approvals/requests/{request_id}/cancel"): Rule((MAKER,), "POST"),
    ("GET", "/api/v1/approvals/policies"): Rule(INBOX),
    ("PATCH", "/api/v1/approvals/policies/{action}"): Rule(("approvals.configure",), "PATCH"),
    ("GET", "/api/v1/audit/entries"): Rule(("audit.view",)),
    ("GET", "/api/v1/audit/entries/{entry_id}"): Rule(("audit.view",)),
    ("GET", "/api/v1/audit/entries/{entry_id}/proof"): Rule(("audit.view",)),
    ("GET", "/api/v1/audit/checkpoints"): Rule(("audit.view",)),
    ("GET", "/api/v1/audit/public-key"): Rule(("audit.view",)),
    ("POST", "/api/v1/privacy/reveal"): Rule(("pii.reveal",), "POST"),
    ("GET", "/api/v1/customers/"): Rule(("customers.view",)),
    ("POST", "/api/v1/customers/"): Rule(("customers.manage",), "POST"),
    ("GET", "/api/v1/customers/{customer_id}"): Rule(("customers.view",), scoped=True),
    ("PATCH", "/api/v1/customers/{customer_id}"): Rule(("customers.manage",), "PATCH", scoped=True),
    ("POST", "/api/v1/customers/{customer_id}/status"): Rule(
        ("customers.manage",), "POST", scoped=True
    ),
    ("GET", "/api/v1/customers/{customer_id}/consents"): Rule(("customers.view",), scoped=True),
    ("POST", "/api/v1/customers/{customer_id}/consents"): Rule(
        ("customers.manage",), "POST", scoped=True
    ),
    ("POST", "/api/v1/customers/{customer_id}/consents/{consent_id}/withdraw"): Rule(
        ("customers.manage",), "POST", scoped=True
    ),
}

PERSONAS = ["anonymous", *DefaultRole.values, "out_of_branch"]
WRITE_BODIES = {
    "/api/v1/access/roles": {"code": "matrix", "name": "Matrix", "permissions": []},
    "/api/v1/access/roles/{code}": {"name": "Renamed"},
    "/api/v1/access/grants": {"user": "svc-target", "role": "trainer", "reason": "matrix"},
    "/api/v1/access/grants/{grant_id}/revoke": {"reason": "matrix"},
    "/api/v1/access/conflicts": {"first": "pii.reveal", "second": "customers.manage"},
    "/api/v1/approvals/requests/{request_id}/approve": {"reason": "matrix"},
    "/api/v1/approvals/requests/{request_id}/reject": {"reason": "matrix"},
    "/api/v1/approvals/requests/{request_id}/cancel": {"reason": "matrix"},
    "/api/v1/approvals/policies/{action}": {"approvers_required": 2},
    "/api/v1/privacy/reveal": {"target": "users.user:1", "field": "email", "reason": "matrix"},
    "/api/v1/customers/": {
        "kind": "organisation",
        "legal_name": "Matrix Ltd",
        "identity_kind": "uscc",
        "identity_number": "91350100M000100Y43",
    },
    "/api/v1/customers/{customer_id}": {"segment": "matrix"},
    "/api/v1/customers/{customer_id}/status": {"status": "dormant", "reason": "matrix"},
    "/api/v1/customers/{customer_id}/consents": {"purpose": "marketing", "channel": "api"},
    "/api/v1/customers/{customer_id}/consents/{consent_id}/withdraw": {"channel": "api"},
}


def _extensions() -> list:
    """Every `tests/<app>/matrix.py` (see tests/permission_rules.py)."""
    import tests

    found = []
    for info in pkgutil.iter_modules(tests.__path__):
        if not info.ispkg:
            continue
        try:
            found.append(importlib.import_module(f"tests.{info.name}.matrix"))
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{info.name}.matrix":
                raise
    return found


EXTENSIONS = _extensions()
for _ext in EXTENSIONS:
    CONSOLE.update(getattr(_ext, "CONSOLE", {}))
    API.update(getattr(_ext, "API", {}))
    WRITE_BODIES.update(getattr(_ext, "WRITE_BODIES", {}))


def console_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith("api/"):
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    return names


def api_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_matrix__every_console_page_is_declared():
    assert sorted(console_url_names() - set(CONSOLE)) == []
    assert sorted(set(CONSOLE) - console_url_names()) == []


def test_matrix__every_api_operation_is_declared():
    assert sorted(api_operations() - set(API)) == []
    assert sorted(set(API) - api_operations()) == []


@pytest.fixture
def world(db, make_user, branch):
    """One user per default role, a far-branch member of staff, and one object of each kind."""
    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    users = {role: make_user(role, username=f"m-{role}") for role in DefaultRole.values}
    users["out_of_branch"] = make_user(DefaultRole.FINANCE_OFFICER, username="m-far", branch=far)
    target = make_user(DefaultRole.CUSTOMER_SERVICE, username="svc-target")
    grant = Grant.objects.get(user=target)
    request = approval_submit(
        actor=users[DefaultRole.RELATIONSHIP_MANAGER],
        action="access.role_grant",
        payload={
            "user_id": target.pk,
            "username": target.username,
            "role": "trainer",
            "scope": "all",
            "branch_id": None,
        },
        object_type="user",
        object_id=target.pk,
        reason="matrix",
    ).request
    from cpms.audit.services import audit_seal
    from cpms.customers.services import consent_grant, customer_register

    customer = customer_register(
        actor=users[DefaultRole.RELATIONSHIP_MANAGER],
        data={
            "kind": "organisation",
            "legal_name": "矩阵测试有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": users[DefaultRole.RELATIONSHIP_MANAGER].pk,
        },
    )
    consent = consent_grant(
        actor=users[DefaultRole.RELATIONSHIP_MANAGER],
        customer=customer,
        purpose="service",
        channel="branch",
    )
    world = {
        "customer": customer,
        "consent": consent,
        "users": users,
        "target": target,
        "grant": grant,
        "request": request,
        "conflict": PermissionConflict.objects.first(),
        "entry": AuditEntry.objects.order_by("pk").first(),
        "role": Role.objects.get(code="trainer"),
        "branch": branch,
    }
    for extension in EXTENSIONS:
        if hasattr(extension, "build"):
            extension.build(world)
    audit_seal(settle_seconds=0, checkpoint="force")  # so inclusion proofs exist
    return world


def console_kwargs(name: str, world: dict) -> dict:
    for extension in EXTENSIONS:
        if hasattr(extension, "console_kwargs"):
            kwargs = extension.console_kwargs(name, world)
            if kwargs is not None:
                return kwargs
    return {
        "access:role-edit": {"code": world["role"].code},
        "access:staff-grants": {"user_id": world["target"].pk},
        "access:grant-revoke": {"grant_id": world["grant"].pk},
        "access:conflict-remove": {"conflict_id": world["conflict"].pk},
        "approvals:detail": {"pk": world["request"].pk},
        "approvals:approve": {"pk": world["request"].pk},
        "approvals:reject": {"pk": world["request"].pk},
        "approvals:cancel": {"pk": world["request"].pk},
        "approvals:policy-edit": {"action": "access.role_grant"},
        "users:unlock": {"pk": world["target"].pk},
        "users:mfa-reset": {"pk": world["target"].pk},
        "users:token-revoke": {"prefix": "00000000"},
        "customers:detail": {"pk": world["customer"].pk},
        "customers:edit": {"pk": world["customer"].pk},
        "customers:status": {"pk": world["customer"].pk},
        "customers:consent-grant": {"pk": world["customer"].pk},
        "customers:consent-withdraw": {
            "pk": world["customer"].pk,
            "consent_id": world["consent"].pk,
        },
    }.get(name, {})


def api_path(path: str, world: dict) -> str:
    for extension in EXTENSIONS:
        for placeholder, value in getattr(extension, "PLACEHOLDERS", {}).items():
            if placeholder in path:
                path = path.replace(placeholder, value(world))
    return (
        path.replace("{branch_id}", str(world["branch"].pk))
        .replace("{code}", world["role"].code)
        .replace("{grant_id}", str(world["grant"].pk))
        .replace("{conflict_id}", str(world["conflict"].pk))
        .replace("{request_id}", str(world["request"].pk))
        .replace("{action}", "access.role_grant")
        .replace("{entry_id}", str(world["entry"].pk))
        .replace("{prefix}", "00000000")
        .replace("{customer_id}", str(world["customer"].pk))
        .replace("{consent_id}", str(world["consent"].pk))
    )


def state(world: dict) -> tuple:
    """Everything a denied call must leave unchanged."""
    extra = tuple(ext.state(world) for ext in EXTENSIONS if hasattr(ext, "state"))
    return (
        extra,
        AuditEntry.objects.count(),
        Grant.objects.filter(revoked_at__isnull=True).count(),
        Role.objects.count(),
        PermissionConflict.objects.count(),
        ApprovalDecision.objects.count(),
        ApprovalRequest.objects.get(pk=world["request"].pk).status,
        ApiToken.objects.count(),
        tuple(
            ApprovalRequest.objects.filter(action="access.role_grant")
            .values_list("status", flat=True)
            .order_by("pk")
        ),
    )


def console_client(persona: str, world: dict) -> tuple[Client, User | None]:
    client = Client()
    if persona == "anonymous":
        return client, None
    user = world["users"][persona]
    client.force_login(user)
    return client, user


@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix__console(world, persona):
    client, user = console_client(persona, world)
    failures = []
    for name, rule in sorted(CONSOLE.items()):
        if rule.skip:
            continue
        url = reverse(name, kwargs=console_kwargs(name, world))
        allowed = rule.allows(persona, user, world)
        before = state(world)
        if rule.method == "GET":
            response = client.get(url)
        else:
            if allowed:
                continue  # allowed writes are exercised by each app's own tests
            response = client.post(url, {"reason": "matrix"})
        status = response.status_code
        redirect = response.get("Location", "")
        if allowed:
            ok = status == 200 or (status == 302 and "/accounts/login/" not in redirect)
        elif user is None:
            ok = status == 302 and redirect.startswith("/accounts/login/")
        elif rule.method == "POST":
            # a refused form post may re-display its page with the error (state checked below)
            ok = status in (403, 404) or (status == 302 and "/accounts/login/" not in redirect)
        else:
            ok = status in (403, 404)
        if not allowed and state(world) != before:
            failures.append(f"{name}: denied but changed state")
        if not ok:
            failures.append(f"{name}: {rule.method} -> {status} (allowed={allowed})")
    assert failures == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_matrix__api(world, persona, token_for):
    user = None if persona == "anonymous" else world["users"][persona]
    headers = {}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token_for(user, scopes=['*:write'])}"
    client = Client(**headers)
    failures = []
    for (method, path), rule in sorted(API.items()):
        if rule.skip:
            continue
        url = api_path(path, world)
        allowed = rule.allows(persona, user, world)
        if method != "GET" and allowed:
            continue  # allowed writes are exercised by each app's own tests
        before = state(world)
        body = WRITE_BODIES.get(path, {})
        response = client.generic(
            method, url, data=__import__("json").dumps(body), content_type="application/json"
        )
        status = response.status_code
        body_json = response.json() if response.content else {}
        if status >= 400 and set(body_json) != {"error"}:
            failures.append(f"{method} {path}: error not in the error format")
        if user is None:
            ok = status == 401
        elif allowed:
            ok = status == 200
        else:
            ok = status in (403, 404)
        if not allowed and state(world) != before:
            failures.append(f"{method} {path}: denied but changed state")
        if not ok:
            failures.append(f"{method} {path} -> {status} (allowed={allowed})")
    assert failures == []


def test_matrix__declarations_name_real_permissions():
    from cpms.access.permissions import BY_CODE

    declared = set()
    for rule in [*CONSOLE.values(), *API.values()]:
        if isinstance(rule.who, tuple):
            declared |= {code for code in rule.who if code != MAKER}
    assert sorted(code for code in declared if code not in BY_CODE) == []
    assert all(re.match(r"^[a-z]+\.[a-z_]+$", code) for code in declared)
