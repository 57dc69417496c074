"""The points declarations of tests/points/matrix.py exercised on their own (the shared matrix
runs them with every app's world): each persona gets exactly what its rule allows, denied
calls change nothing, and every points page and operation is declared."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cpms.config.api import api
from cpms.customers.services import customer_register
from cpms.users import services as user_services
from cpms.users.choices import Role
from tests.points import matrix

PERSONAS = ["anonymous", *Role.values, "out_of_branch"]


@pytest.fixture
def world(db, make_user):
    far = user_services.branch_ensure(actor=None, code="FAR", name="远方分行")
    users = {role: make_user(role, username=f"p-{role}") for role in Role.values}
    users["out_of_branch"] = make_user(Role.FINANCE_OFFICER, username="p-far", branch=far)
    customer = customer_register(
        actor=users[Role.RELATIONSHIP_MANAGER],
        data={
            "kind": "organisation",
            "legal_name": "积分测试有限公司",
            "identity_kind": "uscc",
            "identity_number": "91350100M000100Y43",
            "relationship_manager_id": users[Role.RELATIONSHIP_MANAGER].pk,
        },
    )
    world = {"users": users, "customer": customer}
    matrix.build(world)
    return world


def test_points_matrix__declares_every_page_and_operation():
    from cpms.points import urls

    names = {f"points:{pattern.name}" for pattern in urls.urlpatterns}
    assert names == set(matrix.CONSOLE)
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    operations = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/points/")
        for method in ops
    }
    assert operations == set(matrix.API)


@pytest.mark.parametrize("persona", PERSONAS)
def test_points_matrix__console(world, persona):
    client = Client()
    user = None if persona == "anonymous" else world["users"][persona]
    if user is not None:
        client.force_login(user)
    failures = []
    for name, rule in sorted(matrix.CONSOLE.items()):
        url = reverse(name, kwargs=matrix.console_kwargs(name, world) or {})
        allowed = rule.allows(persona, user, world)
        before = matrix.state(world)
        if rule.method == "GET":
            response = client.get(url)
        else:
            if allowed:
                continue
            response = client.post(url, {"reason": "matrix", "points": "1"})
        status = response.status_code
        location = response.get("Location", "")
        if allowed:
            ok = status == 200
        elif user is None:
            ok = status == 302 and location.startswith("/accounts/login/")
        else:
            ok = status in (403, 404)
        if not allowed and matrix.state(world) != before:
            failures.append(f"{name}: denied but changed state")
        if not ok:
            failures.append(f"{name}: {rule.method} -> {status} (allowed={allowed})")
    assert failures == []


@pytest.mark.parametrize("persona", PERSONAS)
def test_points_matrix__api(world, persona, token_for):
    user = None if persona == "anonymous" else world["users"][persona]
    headers = {}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token_for(user, scopes=['*:write'])}"
    client = Client(**headers)
    failures = []
    for (method, path), rule in sorted(matrix.API.items()):
        url = path.replace("{customer_id}", str(world["customer"].pk))
        allowed = rule.allows(persona, user, world)
        if method != "GET" and allowed:
            continue
        before = matrix.state(world)
        body = matrix.WRITE_BODIES.get(path, {})
        response = client.generic(
            method, url, data=json.dumps(body), content_type="application/json"
        )
        status = response.status_code
        if status >= 400 and set(response.json()) != {"error"}:
            failures.append(f"{method} {path}: error not in the error format")
        if user is None:
            ok = status == 401
        elif allowed:
            ok = status == 200
        else:
            ok = status in (403, 404)
        if not allowed and matrix.state(world) != before:
            failures.append(f"{method} {path}: denied but changed state")
        if not ok:
            failures.append(f"{method} {path} -> {status} (allowed={allowed})")
    assert failures == []
