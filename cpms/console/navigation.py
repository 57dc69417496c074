"""The console's navigation: one entry per product area that exists. Later apps add theirs
here; a test opens every entry, so a dead link fails the suite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    section: str
    permission: str | tuple[str, ...] | None = None  # shown to holders of any of these

    @property
    def permissions(self) -> tuple[str, ...]:
        if self.permission is None:
            return ()
        return (self.permission,) if isinstance(self.permission, str) else self.permission

    @property
    def url(self) -> str:
        return reverse(self.url_name)


def navigation_for(user: Any) -> list[NavItem]:
    from cpms.access.checks import user_has_permission

    return [
        item
        for item in NAVIGATION
        if not item.permissions or any(user_has_permission(user, code) for code in item.permissions)
    ]


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("console:dashboard", _("Dashboard"), "dashboard"),
    NavItem("console:staff", _("Staff & branches"), "staff"),
    NavItem(
        "access:staff-list",
        _("Access control"),
        "access",
        permission=("users.view", "roles.manage"),
    ),
    NavItem("api:openapi-view", _("API docs"), "api"),
)
NAVIGATION += (
    NavItem(
        "approvals:inbox",
        _("Approvals"),
        "approvals",
        ("approvals.request", "approvals.decide", "approvals.configure"),
    ),
)
NAVIGATION += (NavItem("users:security", _("Account security"), "security", "users.unlock"),)
NAVIGATION += (NavItem("privacy:keys", _("Encryption keys"), "privacy", "keys.manage"),)
NAVIGATION += (NavItem("audit:entry-list", _("Audit trail"), "audit", permission="audit.view"),)
NAVIGATION += (NavItem("customers:list", _("Customers"), "customers", permission="customers.view"),)
NAVIGATION += (NavItem("retail:list", _("Purchases"), "retail", permission="retail.view"),)
NAVIGATION += (NavItem("documents:list", _("Documents"), "documents", permission="documents.view"),)
NAVIGATION += (NavItem("quality:queue", _("Data quality"), "quality", permission="quality.review"),)
NAVIGATION += (NavItem("customers:fields", _("Custom fields"), "customers", "customers.configure"),)
NAVIGATION += (
    NavItem("dataio:import", _("Import / export"), "data", ("data.import", "data.export")),
)
NAVIGATION += (NavItem("holdings:list", _("Property"), "holdings", permission="holdings.view"),)
NAVIGATION += (NavItem("custody:list", _("Custody"), "custody", permission="holdings.view"),)
NAVIGATION += (NavItem("notifications:list", _("Notifications"), "notifications"),)
NAVIGATION += (NavItem("ledger:accounts", _("Ledger"), "ledger", permission="ledger.view"),)
NAVIGATION += (NavItem("points:list", _("Loyalty points"), "points", permission="retail.view"),)
NAVIGATION += (NavItem("loans:list", _("Loans"), "loans", permission="ledger.view"),)
NAVIGATION += (NavItem("portfolios:list", _("Portfolios"), "portfolios", permission="ledger.view"),)
NAVIGATION += (
    NavItem("reconciliation:list", _("Bank reconciliation"), "reconciliation", "ledger.view"),
)
