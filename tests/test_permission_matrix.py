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

from cpms.access import staff as access_staff
from cpms.access.models import Grant, PermissionConflict, Role
from cpms.approvals.models import ApprovalDecision, ApprovalRequest
from cpms.approvals.services import approval_submit
from cpms.audit.models import AuditEntry
from cpms.config.api import api
from cpms.users import services as user_services
from cpms.users.choices import Role as DefaultRole
from cpms.users.models import ApiToken, User
from tests.permission_rules import (
    ACCESS_READ,
    AUTH,
    INBOX,
    MAKER,
    PUBLIC,
    STAFF,
    Probe,
    Rule,
    missing_like,
)

CONSOLE: dict[str, Rule] = {
    "console:login": Rule(PUBLIC, skip="sign-in flow: tests/users"),
    "console:logout": Rule(AUTH, "POST", skip="sign-out: tests/console"),
    "set_language": Rule(PUBLIC, "POST", skip="language switch: tests/console"),
    "healthz": Rule(PUBLIC),
    "console:dashboard": Rule(STAFF),
    "console:dashboard-counts": Rule(STAFF),
    "console:staff": Rule(STAFF),
    "pick": Rule(STAFF),  # the search itself is scoped per kind: tests/customers/test_picker.py
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
PROBES: list[Probe] = []
for _ext in EXTENSIONS:
    CONSOLE.update(getattr(_ext, "CONSOLE", {}))
    API.update(getattr(_ext, "API", {}))
    WRITE_BODIES.update(getattr(_ext, "WRITE_BODIES", {}))
    PROBES.extend(getattr(_ext, "PROBES", []))


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
        "pick": {"kind": "customer"},
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


BASE_PLACEHOLDERS = {
    "{branch_id}": lambda world: str(world["branch"].pk),
    "{code}": lambda world: world["role"].code,
    "{grant_id}": lambda world: str(world["grant"].pk),
    "{conflict_id}": lambda world: str(world["conflict"].pk),
    "{request_id}": lambda world: str(world["request"].pk),
    "{action}": lambda world: "access.role_grant",
    "{entry_id}": lambda world: str(world["entry"].pk),
    "{prefix}": lambda world: "00000000",
    "{customer_id}": lambda world: str(world["customer"].pk),
    "{consent_id}": lambda world: str(world["consent"].pk),
}


def api_values(path: str, world: dict) -> dict[str, str]:
    """The value of every placeholder in `path` (the apps' declarations first)."""
    values: dict[str, str] = {}
    for extension in EXTENSIONS:
        for placeholder, value in getattr(extension, "PLACEHOLDERS", {}).items():
            if placeholder in path and placeholder not in values:
                values[placeholder] = value(world)
    for placeholder, value in BASE_PLACEHOLDERS.items():
        if placeholder in path and placeholder not in values:
            values[placeholder] = value(world)
    return values


def fill(path: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        path = path.replace(placeholder, str(value))
    return path


def api_path(path: str, world: dict) -> str:
    return fill(path, api_values(path, world))


def state(world: dict) -> tuple:
    """Everything a denied call must leave unchanged."""
    extra = tuple(ext.state(world) for ext in EXTENSIONS if hasattr(ext, "state"))
    return (
        extra,
        AuditEntry.objects.exclude(action="access.denied").count(),
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
        before = None if allowed else state(world)  # only a denied call is checked for changes
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
        before = None if allowed else state(world)  # only a denied call is checked for changes
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
    from cpms.core.permissions import BY_CODE

    declared = set()
    for rule in [*CONSOLE.values(), *API.values()]:
        if isinstance(rule.who, tuple):
            declared |= {code for code in rule.who if code != MAKER}
    assert sorted(code for code in declared if code not in BY_CODE) == []
    assert all(re.match(r"^[a-z]+\.[a-z_]+$", code) for code in declared)


# ------------------------------------------------------------------------ out of scope


def _far_staff(world: dict) -> dict[str, User]:
    """One member of staff of the far branch per default staff role (the out_of_branch
    persona is the finance officer)."""
    far = world["users"]["out_of_branch"].branch
    staff = {DefaultRole.FINANCE_OFFICER: world["users"]["out_of_branch"]}
    for role in DefaultRole.values:
        if role not in staff and role != DefaultRole.CUSTOMER:
            staff[role] = access_staff.user_create(
                actor=None, username=f"far-{role}", password="x" * 12, roles=[role], branch=far
            )
    return staff


def _out_of_scope_for(rule: Rule, persona: str, user: User, world: dict) -> bool:
    """The user holds the rule's permission, but not for every branch: the world's rows (in
    the near branch, assigned to its relationship manager) are outside the user's scope."""
    from cpms.access.checks import forget, has_scope_all

    if not rule.allows(persona, user, world) or not isinstance(rule.who, tuple):
        return False
    forget(user)
    return not any(has_scope_all(user, code) for code in rule.who if code != MAKER)


def _normalised(text: str, sent: list) -> str:
    """`text` with each value the caller sent (an id it chose) written as <sent>."""
    for value in sorted({str(value) for value in sent}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w.:\[-]){re.escape(value)}(?![\w.:-])", "<sent>", text)
    return text


def _api_reply(response, sent: list) -> tuple[int, str]:
    if not response.content:
        return response.status_code, ""
    try:
        body = __import__("json").dumps(response.json(), ensure_ascii=False, sort_keys=True)
    except ValueError:
        body = "<not JSON>"
    return response.status_code, _normalised(body, sent)


_VISIBLE = re.compile(
    r'<p class="(?:form-error|message)[^"]*"[^>]*>(.*?)</p>'
    r'|<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>'
    r'|<article class="error-page">(.*?)</footer>',
    flags=re.S,
)


def _visible_errors(response) -> str:
    """The error text a person sees: field and form errors, messages, the error page (without
    its request id)."""
    if "html" not in response.get("Content-Type", ""):
        return ""
    parts = ["".join(groups) for groups in _VISIBLE.findall(response.content.decode())]
    text = re.sub(r"<small>.*?</small>", "", " ".join(parts), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _console_reply(client: Client, response, sent: list) -> tuple:
    location = response.get("Location", "")
    if response.status_code == 302 and "/accounts/login/" not in location:
        followed = client.get(location)  # the message lands on the next page
        return (
            302,
            _normalised(location, sent),
            followed.status_code,
            _normalised(_visible_errors(followed), sent),
        )
    return (
        response.status_code,
        _normalised(location, sent),
        _normalised(_visible_errors(response), sent),
    )


def _missing_kwargs(kwargs: dict) -> dict:
    return {
        key: missing_like(value) if isinstance(value, int) else value
        for key, value in kwargs.items()
    }


def _differs(label: str, real: tuple, missing: tuple) -> str | None:
    """Why the reply for an out-of-scope row betrays it (None: it reads as missing)."""
    if real[0] < 400 and real[0] != 302:
        return f"{label}: the out-of-scope row answered {real[0]}"
    if real != missing:
        return f"{label}:\n  out of scope {real}\n  missing      {missing}"
    return None


def _console_checks(persona: str, user: User, world: dict) -> list[tuple]:
    checks = []
    for name, rule in sorted(CONSOLE.items()):
        if rule.skip or not rule.scoped or not _out_of_scope_for(rule, persona, user, world):
            continue
        kwargs = console_kwargs(name, world)
        absent = _missing_kwargs(kwargs)
        sent = [v for v in [*kwargs.values(), *absent.values()] if isinstance(v, int)]
        urls = [reverse(name, kwargs=values) for values in (kwargs, absent)]
        checks.append((name, rule.method, urls, sent))
    return checks


def _api_checks(persona: str, user: User, world: dict) -> list[tuple]:
    checks = []
    for (method, path), rule in sorted(API.items()):
        if rule.skip or not rule.scoped or not _out_of_scope_for(rule, persona, user, world):
            continue
        values = api_values(path, world)
        absent = {key: missing_like(value) for key, value in values.items()}
        body = WRITE_BODIES.get(path, {})
        requests = [(fill(path, values), body), (fill(path, absent), body)]
        checks.append((f"{method} {path}", method, requests, [*values.values(), *absent.values()]))
    for probe in PROBES:
        method, path = probe.operation
        if not _out_of_scope_for(API[probe.operation], persona, user, world):
            continue
        target = probe.target(world)
        missing = probe.missing(world) if probe.missing else missing_like(target)
        template = probe.path or path
        requests = [
            (
                api_path(template.replace("{ref}", str(ref)), world),
                probe.body(world, ref) if probe.body else {},
            )
            for ref in (target, missing)
        ]
        checks.append((f"probe {method} {template}", method, requests, [target, missing]))
    return checks


def test_matrix__out_of_scope_looks_missing(world, token_for, settings):
    """Every page and operation that takes an id (and every probe naming a row in its body or
    query) answers a member of staff of another branch exactly as it answers a missing id, and
    changes nothing."""
    import json

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    failures: list[str] = []
    compared = 0
    for persona, user in _far_staff(world).items():
        console = Client()
        console.force_login(user)
        for name, method, urls, sent in _console_checks(persona, user, world):
            before = state(world)
            replies = [
                _console_reply(
                    console,
                    console.get(url) if method == "GET" else console.post(url, {"reason": "m"}),
                    sent,
                )
                for url in urls
            ]
            if state(world) != before:
                failures.append(f"{persona} {name}: out of scope but changed state")
            failures.append(_differs(f"{persona} {name}", *replies) or "")
            compared += 1
        token = token_for(user, scopes=["*:write"])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        for label, method, requests, sent in _api_checks(persona, user, world):
            before = state(world)
            replies = [
                _api_reply(
                    client.generic(
                        method, url, data=json.dumps(body), content_type="application/json"
                    ),
                    sent,
                )
                for url, body in requests
            ]
            if state(world) != before:
                failures.append(f"{persona} {label}: out of scope but changed state")
            failures.append(_differs(f"{persona} {label}", *replies) or "")
            compared += 1
    assert [failure for failure in failures if failure] == []
    assert compared > 50  # the comparison ran: far staff hold the scoped permissions
