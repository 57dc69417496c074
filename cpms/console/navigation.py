"""The console's navigation: one entry per product area that exists, in four groups (plus the
home page). Later apps add theirs here, in a group; a test opens every entry, so a dead link
fails the suite, and another checks every entry names a known group.

An entry may carry a count badge: `badge` is the dotted path of a function `(user) -> int`
(e.g. requests waiting for the user's decision); nothing is shown when it answers 0."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from cpms.access.checks import user_has_permission

logger = logging.getLogger(__name__)

HOME = "home"
CUSTOMERS = "customers"
MONEY = "money"
COMPLIANCE = "compliance"
SYSTEM = "system"

# (code, label) in menu order; "home" entries are plain links, the others dropdowns
GROUPS: tuple[tuple[str, str | Promise], ...] = (
    (HOME, _("Home")),
    (CUSTOMERS, _("Customers & property")),
    (MONEY, _("Money")),
    (COMPLIANCE, _("Compliance & audit")),
    (SYSTEM, _("System")),
)
GROUP_CODES = frozenset(code for code, _label in GROUPS)


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    section: str
    permission: str | tuple[str, ...] | None = None  # shown to holders of any of these
    group: str = ""  # one of GROUPS
    badge: str | None = None  # dotted path to a function (user) -> int

    @property
    def permissions(self) -> tuple[str, ...]:
        if self.permission is None:
            return ()
        return (self.permission,) if isinstance(self.permission, str) else self.permission

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    def badge_count(self, user: Any) -> int:
        if not self.badge:
            return 0
        try:
            return int(import_string(self.badge)(user) or 0)
        except Exception:  # a badge must never break the page it sits on
            logger.exception("navigation badge %s failed", self.badge)
            return 0


@dataclass
class NavEntry:
    """An item as one user sees it: with its badge counted."""

    item: NavItem
    badge: int = 0

    @property
    def url(self) -> str:
        return self.item.url

    @property
    def label(self) -> str | Promise:
        return self.item.label

    @property
    def section(self) -> str:
        return self.item.section


@dataclass
class NavGroup:
    code: str
    label: str | Promise
    entries: list[NavEntry] = field(default_factory=list)

    @property
    def sections(self) -> set[str]:
        return {entry.section for entry in self.entries}

    @property
    def badge(self) -> int:
        return sum(entry.badge for entry in self.entries)

    @property
    def is_home(self) -> bool:
        return self.code == HOME


class NavMenu(list):
    """The groups of one user's menu; `badge` sums every count (shown on the phone's button)."""

    @property
    def badge(self) -> int:
        return sum(group.badge for group in self)


def navigation_for(user: Any) -> list[NavItem]:
    return [
        item
        for item in NAVIGATION
        if not item.permissions or any(user_has_permission(user, code) for code in item.permissions)
    ]


def navigation_groups(user: Any) -> NavMenu:
    """The user's entries by group, in menu order; groups without entries left out."""
    groups = {code: NavGroup(code, label) for code, label in GROUPS}
    for item in navigation_for(user):
        groups[item.group].entries.append(NavEntry(item, item.badge_count(user)))
    return NavMenu(group for group in groups.values() if group.entries)


APPROVALS_BADGE = "cpms.approvals.selectors.awaiting_decision_count"

NAVIGATION: tuple[NavItem, ...] = (
    NavItem("console:dashboard", _("Dashboard"), "dashboard", group=HOME),
    # customers & property
    NavItem("customers:list", _("Customers"), "customers", "customers.view", CUSTOMERS),
    NavItem("holdings:list", _("Property"), "holdings", "holdings.view", CUSTOMERS),
    NavItem("custody:list", _("Custody"), "custody", "holdings.view", CUSTOMERS),
    NavItem("documents:list", _("Documents"), "documents", "documents.view", CUSTOMERS),
    NavItem("retail:list", _("Purchases"), "retail", "retail.view", CUSTOMERS),
    NavItem("points:list", _("Loyalty points"), "points", "retail.view", CUSTOMERS),
    NavItem("customers:fields", _("Custom fields"), "customers", "customers.configure", CUSTOMERS),
    # money
    NavItem(
        "approvals:inbox",
        _("Approvals"),
        "approvals",
        ("approvals.request", "approvals.decide", "approvals.configure"),
        MONEY,
        badge=APPROVALS_BADGE,
    ),
    NavItem("ledger:accounts", _("Ledger"), "ledger", "ledger.view", MONEY),
    NavItem("loans:list", _("Loans"), "loans", "ledger.view", MONEY),
    NavItem("portfolios:list", _("Portfolios"), "portfolios", "ledger.view", MONEY),
    NavItem(
        "reconciliation:list", _("Bank reconciliation"), "reconciliation", "ledger.view", MONEY
    ),
    # compliance & audit
    NavItem("audit:entry-list", _("Audit trail"), "audit", "audit.view", COMPLIANCE),
    NavItem("quality:queue", _("Data quality"), "quality", "quality.review", COMPLIANCE),
    NavItem("privacy:keys", _("Encryption keys"), "privacy", "keys.manage", COMPLIANCE),
    # system
    NavItem("console:staff", _("Staff & branches"), "staff", group=SYSTEM),
    NavItem("staff:list", _("Staff"), "staff", "users.manage", SYSTEM),
    NavItem(
        "access:staff-list", _("Access control"), "access", ("users.view", "roles.manage"), SYSTEM
    ),
    NavItem("users:security", _("Account security"), "security", "users.unlock", SYSTEM),
    NavItem("dataio:import", _("Import / export"), "data", ("data.import", "data.export"), SYSTEM),
    NavItem("notifications:list", _("Notifications"), "notifications", group=SYSTEM),
    NavItem("api:openapi-view", _("API docs"), "api", group=SYSTEM),
)
