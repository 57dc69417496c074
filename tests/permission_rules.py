"""Rules of the permission matrix (tests/test_permission_matrix.py), shared with the
per-app declarations in `tests/<app>/matrix.py`.

Each `tests/<app>/matrix.py` may define:
- `CONSOLE: dict[url name, Rule]` and `API: dict[(METHOD, path), Rule]` for the app's pages/ops;
- `WRITE_BODIES: dict[path, dict]` for API writes (sent by denied personas; must change nothing);
- `build(world: dict) -> None` adding the app's objects to `world` (which already holds
  "users" (persona -> User), "customer" (in the relationship manager's scope), "branch", …);
- `console_kwargs(name: str, world: dict) -> dict | None` (URL kwargs for the app's pages);
- `PLACEHOLDERS: dict[str, Callable[[dict], str]]`, e.g. {"{holding_id}": lambda w: str(...)};
- `state(world: dict) -> tuple` of whatever a denied call must leave unchanged (row counts);
- `PROBES: list[Probe]` for API operations that name a row in their body or query string
  (e.g. `customer_id` of a new holding, the accounts of a transfer).

Out of scope looks missing (`test_matrix__out_of_scope_looks_missing`): for every `scoped`
page and operation, and every probe, members of staff of another branch, one per default role
(skipping the roles whose grant reaches every branch), are answered exactly as for a row that
does not exist: the same status and, for the API, the same whole error body (code, message,
fields), for the console the same visible error text. The only difference allowed is the
value the caller sent itself, where a reply echoes it. Path placeholders and console kwargs
that are ids (digits) name the missing row as the id + 1,000,000.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cpms.users.models import User

PUBLIC = "public"  # anyone
AUTH = "auth"  # any signed-in user (staff or portal customer)
STAFF = "staff"  # any signed-in member of staff
MAKER = "maker"  # the maker of the approval request, or a holder of the given permissions
INBOX = ("approvals.request", "approvals.decide", "approvals.configure")
ACCESS_READ = ("users.view", "roles.manage")


@dataclass(frozen=True)
class Rule:
    who: str | tuple[str, ...]  # PUBLIC | AUTH | STAFF | MAKER+perms | permission codes (any of)
    method: str = "GET"
    skip: str = ""  # why the generic matrix does not apply (tested in its own module)
    scoped: bool = False  # the object is outside the out_of_branch persona's scope (404)

    def allows(self, persona: str, user: User | None, world: dict) -> bool:
        if self.who == PUBLIC:
            return True
        if self.scoped and persona == "out_of_branch":
            return False
        if user is None:
            return False
        if self.who == AUTH:
            return True
        if not user.is_staff:
            return False
        if self.who == STAFF:
            return True
        codes = self.who if isinstance(self.who, tuple) else (self.who,)
        from cpms.access.checks import forget, user_has_permission

        forget(user)
        if MAKER in codes:
            if user == world["request"].maker:
                return True
            codes = tuple(code for code in codes if code != MAKER)
        return any(user_has_permission(user, code) for code in codes)


MISSING_OFFSET = 1_000_000  # an id this far above a row's names no row in any test database


def missing_like(value: Any) -> Any:
    """A reference of the same shape as `value` that names no row."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value + MISSING_OFFSET
    text = str(value)
    if text.isascii() and text.isdigit():
        return str(int(text) + MISSING_OFFSET)
    return f"{text}-MISSING"


@dataclass(frozen=True)
class Probe:
    """An API operation that names a row outside the other branch's scope in its body or query
    string. `operation` is its declaration key in `API` (whose rule decides who may call it);
    `path` may hold "{ref}" and the usual placeholders; `body(world, ref)` builds the body
    naming `ref`; `target(world)` is the reference of the out-of-scope row (an id or a code),
    `missing(world)` one that names nothing (default: `missing_like(target)`)."""

    operation: tuple[str, str]
    target: Callable[[dict], Any]
    body: Callable[[dict, Any], dict] | None = None
    path: str = ""  # default: the operation's path
    missing: Callable[[dict], Any] | None = None
