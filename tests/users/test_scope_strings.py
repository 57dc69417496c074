"""API token scope strings (`cpms.users.scopes`): parsing, the write-implies-read rule, the
wildcard, and minting never more than a token holds. Pure functions: no database."""

from __future__ import annotations

import pytest

from cpms.core.errors import ValidationFailed
from cpms.users.scopes import (
    DEFAULT_SCOPES,
    scope_choices,
    scopes_allow,
    scopes_cover,
    scopes_normalise,
)

AREAS = (
    "users",
    "access",
    "approvals",
    "privacy",
    "audit",
    "customers",
    "holdings",
    "custody",
    "documents",
    "retail",
    "data",
    "quality",
    "ledger",
)


def test_scope_choices__wildcard_first_then_every_area_read_and_write():
    expected = ["*:read", "*:write"]
    for area in AREAS:
        expected += [f"{area}:read", f"{area}:write"]

    assert scope_choices() == expected


def test_default_scopes__read_everywhere():
    assert DEFAULT_SCOPES == ("*:read",)


# scopes_normalise -------------------------------------------------------------------------------


def test_scopes_normalise__none_gives_the_default():
    assert scopes_normalise(None) == ["*:read"]


@pytest.mark.parametrize("given", [[], ()])
def test_scopes_normalise__empty_gives_the_default(given):
    assert scopes_normalise(given) == ["*:read"]


def test_scopes_normalise__blank_scope_is_refused():
    with pytest.raises(ValidationFailed):
        scopes_normalise([" "])


def test_scopes_normalise__trimmed_lower_cased_deduplicated_sorted():
    given = [" Ledger:WRITE ", "customers:read", "ledger:write", "*:Read", "audit:read"]

    assert scopes_normalise(given) == [
        "*:read",
        "audit:read",
        "customers:read",
        "ledger:write",
    ]


def test_scopes_normalise__every_valid_scope_is_kept():
    every = [f"{area}:{level}" for area in ("*", *AREAS) for level in ("read", "write")]

    assert scopes_normalise(every) == sorted(every)


@pytest.mark.parametrize(
    "bad",
    [
        "moon:read",
        "ledger:delete",
        "ledger",
        "ledger:",
        ":read",
        "ledger:read:write",
        "ledger read",
        "**:read",
        "ledger:*",
    ],
)
def test_scopes_normalise__unknown_area_or_level_is_refused(bad):
    with pytest.raises(ValidationFailed) as raised:
        scopes_normalise(["customers:read", bad])

    assert raised.value.code == "validation_failed"
    assert raised.value.fields == {
        "scopes": (
            f"Unknown scope: {bad}. Use AREA:read or AREA:write, AREA one of *, {', '.join(AREAS)}."
        )
    }


def test_scopes_normalise__every_bad_scope_is_named_as_given():
    with pytest.raises(ValidationFailed) as raised:
        scopes_normalise(["Moon:Read", "ledger:read", 42])

    assert raised.value.fields["scopes"].startswith("Unknown scope: Moon:Read, 42. Use ")


# scopes_allow -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "area", "write", "allowed"),
    [
        (["ledger:read"], "ledger", False, True),
        (["ledger:read"], "ledger", True, False),
        (["ledger:write"], "ledger", False, True),
        (["ledger:write"], "ledger", True, True),
        (["ledger:write"], "customers", False, False),
        (["ledger:write"], "customers", True, False),
        (["*:read"], "audit", False, True),
        (["*:read"], "audit", True, False),
        (["*:write"], "audit", True, True),
        (["*:write"], "audit", False, True),
        ([], "audit", False, False),
        (["customers:read", "ledger:write"], "ledger", True, True),
        (["ledger:write", "customers:read"], "customers", True, False),
        (["ledger:admin"], "ledger", False, False),
        (["ledger"], "ledger", False, False),
        (["audit:read"], "*", False, False),
    ],
)
def test_scopes_allow__by_area_and_level(held, area, write, allowed):
    assert scopes_allow(held, area, write=write) is allowed


def test_scopes_allow__read_by_default():
    assert scopes_allow(["ledger:read"], "ledger") is True
    assert scopes_allow(iter(["ledger:write"]), "ledger") is True


# scopes_cover -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "requested", "covered"),
    [
        (["*:read"], ["ledger:read"], True),
        (["*:read"], ["ledger:write"], False),
        (["*:read"], ["*:read"], True),
        (["*:read"], ["*:write"], False),
        (["*:write"], ["*:read"], True),
        (["*:write"], ["*:write"], True),
        (["*:write"], ["*:read", "ledger:write"], True),
        (["ledger:write"], ["ledger:read"], True),
        (["ledger:write"], ["ledger:write"], True),
        (["ledger:read"], ["ledger:write"], False),
        (["ledger:write", "customers:write"], ["*:read"], False),
        (["ledger:write", "customers:write"], ["ledger:read", "customers:write"], True),
        (["ledger:write"], ["ledger:read", "customers:read"], False),
        (["ledger:read"], [], True),
        ([], ["ledger:read"], False),
    ],
)
def test_scopes_cover__never_more_than_held(held, requested, covered):
    assert scopes_cover(held, requested) is covered


def test_scopes_cover__held_may_be_a_one_shot_iterable():
    assert scopes_cover(iter(["ledger:write"]), ["ledger:read", "ledger:write"]) is True
    assert scopes_cover(iter(["*:write"]), ["audit:write", "*:read"]) is True
