"""Rules of the permission matrix (tests/test_permission_matrix.py), shared with the
per-app declarations in `tests/<app>/matrix.py`.

Each `tests/<app>/matrix.py` may define:
- `CONSOLE: dict[url name, Rule]` and `API: dict[(METHOD, path), Rule]` for the app's pages/ops;
- `WRITE_BODIES: dict[path, dict]` for API writes (sent by denied personas; must change nothing);
- `build(world: dict) -> None` adding the app's objects to `world` (which already holds
  "users" (persona -> User), "customer" (in the relationship manager's scope), "branch", …);
- `console_kwargs(name: str, world: dict) -> dict | None` (URL kwargs for the app's pages);
- `PLACEHOLDERS: dict[str, Callable[[dict], str]]`, e.g. {"{holding_id}": lambda w: str(...)};
- `state(world: dict) -> tuple` of whatever a denied call must leave unchanged (row counts).
"""

from __future__ import annotations

from dataclasses import dataclass

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
