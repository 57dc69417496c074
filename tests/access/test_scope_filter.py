"""`cpms.access.scopes.scope_filter`: the filter built from a user's grants and a model's scope
rule, compared with the Q written out by hand. No database: the grants are given."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db.models import Q

from cpms.access import scopes
from cpms.access.checks import GrantView
from cpms.access.scopes import ScopeRule
from tests.access.test_checks import FakeUser

PERMISSION = "customers.view"


def fake_model(label: str):
    return SimpleNamespace(_meta=SimpleNamespace(label_lower=label.lower(), label=label))


@pytest.fixture
def model():
    row = fake_model("tests.ScopedThing")
    scopes.register(row, branch="branch_id", assigned="manager_id", self="portal_user_id")
    yield row
    scopes._RULES.pop("tests.scopedthing", None)


@pytest.fixture
def branch_only():
    row = fake_model("tests.BranchThing")
    scopes.register(row, branch="owner__branch_id")
    yield row
    scopes._RULES.pop("tests.branchthing", None)


def grant(scope: str, branch_id: int | None = None, code: str = PERMISSION) -> GrantView:
    return GrantView("role", frozenset({code}), scope, branch_id)


def test_register__stores_the_rule_under_the_label(model):
    assert scopes.rule_for(model) == ScopeRule(
        branch="branch_id", assigned="manager_id", self="portal_user_id"
    )
    assert scopes.rule_for(fake_model("tests.scopedthing")) == scopes.rule_for(model)


def test_rule_for__unregistered_model_names_the_fix():
    with pytest.raises(LookupError) as raised:
        scopes.rule_for(fake_model("tests.Nowhere"))

    assert str(raised.value) == "tests.Nowhere has no scope rule: call access.scopes.register()"
    assert raised.value.__suppress_context__ is True


def test_scope_filter__all_scope_is_everything(model):
    user = FakeUser((grant("branch", 3), grant("all"), grant("assigned")))

    assert scopes.scope_filter(user, PERMISSION, model) == Q()


def test_scope_filter__no_grant_with_the_permission_is_nothing(model):
    user = FakeUser((grant("all", code="users.view"),))

    assert scopes.scope_filter(user, PERMISSION, model) is None


def test_scope_filter__branches_are_collected_sorted_into_one_lookup(model):
    user = FakeUser((grant("branch", 5), grant("branch", 2), grant("branch", 5)))

    assert scopes.scope_filter(user, PERMISSION, model) == Q(branch_id__in=[2, 5])


def test_scope_filter__branch_grant_without_a_branch_reaches_nothing(model):
    user = FakeUser((grant("branch", None),))

    assert scopes.scope_filter(user, PERMISSION, model) is None


def test_scope_filter__assigned_and_self_are_the_user(model):
    assert scopes.scope_filter(FakeUser((grant("assigned"),), pk=11), PERMISSION, model) == Q(
        manager_id=11
    )
    assert scopes.scope_filter(FakeUser((grant("self"),), pk=12), PERMISSION, model) == Q(
        portal_user_id=12
    )


def test_scope_filter__grants_are_combined_with_or(model):
    user = FakeUser(
        (grant("assigned"), grant("branch", 4), grant("self"), grant("branch", 1)), pk=9
    )

    assert scopes.scope_filter(user, PERMISSION, model) == (
        Q(manager_id=9) | Q(portal_user_id=9) | Q(branch_id__in=[1, 4])
    )


def test_scope_filter__scopes_the_model_has_no_relation_for_reach_nothing(branch_only):
    user = FakeUser((grant("assigned"), grant("self")), pk=9)
    assert scopes.scope_filter(user, PERMISSION, branch_only) is None

    user = FakeUser((grant("assigned"), grant("branch", 8)), pk=9)
    assert scopes.scope_filter(user, PERMISSION, branch_only) == Q(owner__branch_id__in=[8])


def test_scope_filter__unknown_scope_reaches_nothing(model):
    assert scopes.scope_filter(FakeUser((grant("galaxy", 1),)), PERMISSION, model) is None


def test_scope_filter__signed_out_user_reaches_nothing(model):
    user = FakeUser((grant("all"),), is_authenticated=False)

    assert scopes.scope_filter(user, PERMISSION, model) is None


def test_scope_filter__unregistered_model_is_refused_before_grants_are_read():
    with pytest.raises(LookupError):
        scopes.scope_filter(FakeUser((grant("all"),)), PERMISSION, fake_model("tests.Nowhere"))
