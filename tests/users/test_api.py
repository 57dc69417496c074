from __future__ import annotations

import pytest

from cpms.users import services


@pytest.mark.django_db
def test_me__returns_the_token_owner(api_client, staff):
    body = api_client.get("/api/v1/me").json()
    assert body["username"] == "staff1"
    assert body["display_name"] == "员工一"
    assert body["branch"]["code"] == "T01"
    assert body["roles"] == [{"code": "relationship_manager", "name": "客户经理"}]


@pytest.mark.django_db
def test_branches__pages_with_limit_and_cursor(api_client, branch):
    for number in range(2, 6):
        services.branch_ensure(actor=None, code=f"T0{number}", name=f"分行{number}")
    first = api_client.get("/api/v1/branches?limit=2").json()
    assert [item["code"] for item in first["items"]] == ["T01", "T02"]
    second = api_client.get(f"/api/v1/branches?limit=2&cursor={first['next_cursor']}").json()
    assert [item["code"] for item in second["items"]] == ["T03", "T04"]
    third = api_client.get(f"/api/v1/branches?limit=2&cursor={second['next_cursor']}").json()
    assert [item["code"] for item in third["items"]] == ["T05"]
    assert third["next_cursor"] is None


@pytest.mark.django_db
def test_branch_get__one_branch(api_client, branch):
    body = api_client.get(f"/api/v1/branches/{branch.pk}").json()
    assert body == {
        "id": branch.pk,
        "code": "T01",
        "name": "测试分行",
        "city": "杭州",
        "is_active": True,
    }
