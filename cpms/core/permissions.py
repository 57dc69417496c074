"""The catalogue of permissions: code -> (area, label). Roles (in `access`) are composed from
these codes. Codes are stable (stored in grants); add new ones in the section of the area they
guard. It is data every layer may read (approval policies name a permission, token scopes name
an area), so it lives in core; who holds a permission is decided by `access`."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Permission:
    code: str
    area: str
    label: str | Promise
    write: bool = False


PERMISSIONS: tuple[Permission, ...] = (
    # people and access
    Permission("users.view", "users", _("View staff")),
    Permission("users.manage", "users", _("Create and change staff"), write=True),
    Permission("users.unlock", "users", _("Unlock locked accounts"), write=True),
    Permission("roles.manage", "access", _("Compose roles and grant them"), write=True),
    Permission("tokens.manage", "access", _("Manage other users' API tokens"), write=True),
    # maker-checker
    Permission("approvals.request", "approvals", _("Submit operations for approval"), write=True),
    Permission("approvals.decide", "approvals", _("Approve or reject requests"), write=True),
    Permission("approvals.configure", "approvals", _("Configure approval policies"), write=True),
    # personal data
    Permission("pii.reveal", "privacy", _("Reveal masked personal data"), write=False),
    Permission("keys.manage", "privacy", _("Rotate and destroy encryption keys"), write=True),
    # audit trail
    Permission("audit.view", "audit", _("View the audit trail")),
    Permission("audit.export", "audit", _("Export the audit trail")),
    Permission("audit.verify", "audit", _("Verify the audit trail")),
    # registry and ledger (used by later issues)
    Permission("customers.view", "customers", _("View customers")),
    Permission("customers.manage", "customers", _("Register and change customers"), write=True),
    Permission("customers.configure", "customers", _("Define custom customer fields"), write=True),
    Permission("holdings.view", "holdings", _("View property")),
    Permission("holdings.manage", "holdings", _("Register and change property"), write=True),
    Permission(
        "custody.operate",
        "custody",
        _("Receive, check out and return items in custody"),
        write=True,
    ),
    Permission("documents.view", "documents", _("View and download documents")),
    Permission("documents.manage", "documents", _("Upload and classify documents"), write=True),
    Permission("retail.view", "retail", _("View purchases and returns")),
    Permission("retail.manage", "retail", _("Record purchases and returns"), write=True),
    Permission(
        "data.import", "data", _("Import customers, property and purchases in bulk"), write=True
    ),
    Permission("data.export", "data", _("Export customers, property and purchases")),
    Permission(
        "quality.review", "quality", _("Review data quality and propose merges"), write=True
    ),
    Permission("ledger.view", "ledger", _("View ledger accounts and transfers")),
    Permission("ledger.post", "ledger", _("Post transfers"), write=True),
    Permission("ledger.close", "ledger", _("Close ledger periods"), write=True),
    Permission("ledger.reconcile", "ledger", _("Import bank statements and reconcile"), write=True),
    Permission("points.redeem", "retail", _("Redeem customers' loyalty points"), write=True),
    Permission(
        "points.adjust",
        "retail",
        _("Request loyalty point adjustments and edit earn rules"),
        write=True,
    ),
)

BY_CODE: dict[str, Permission] = {permission.code: permission for permission in PERMISSIONS}
AREAS: tuple[str, ...] = tuple(dict.fromkeys(permission.area for permission in PERMISSIONS))

# Default composition of the product roles (product.md §1); administrators may change it.
DEFAULT_ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "administrator": (
        "users.view",
        "users.manage",
        "users.unlock",
        "roles.manage",
        "tokens.manage",
        "approvals.configure",
        "keys.manage",
        "audit.verify",
        "customers.configure",
    ),
    "relationship_manager": (
        "customers.view",
        "customers.manage",
        "approvals.request",
        "holdings.view",
        "holdings.manage",
        "custody.operate",
        "documents.view",
        "documents.manage",
        "retail.view",
        "retail.manage",
        "points.redeem",
        "points.adjust",
        "data.import",
        "data.export",
        "quality.review",
    ),
    "finance_officer": (
        "customers.view",
        "ledger.view",
        "ledger.post",
        "ledger.close",
        "ledger.reconcile",
        "approvals.request",
        "approvals.decide",
        "holdings.view",
        "documents.view",
        "retail.view",
    ),
    "compliance_officer": (
        "customers.view",
        "ledger.view",
        "pii.reveal",
        "audit.view",
        "audit.export",
        "audit.verify",
        "approvals.decide",
        "approvals.configure",
        "holdings.view",
        "documents.view",
        "retail.view",
        "data.export",
        "quality.review",
    ),
    "auditor": (
        "users.view",
        "customers.view",
        "ledger.view",
        "audit.view",
        "audit.export",
        "audit.verify",
        "holdings.view",
        "documents.view",
        "retail.view",
        "data.export",
    ),
    "customer_service": (
        "customers.view",
        "holdings.view",
        "retail.view",
        "retail.manage",
        "points.redeem",
    ),
    "trainer": (),
    "customer": (),
}

# Pairs no single user may hold together (segregation of duties); administrators add more.
DEFAULT_CONFLICTS: tuple[tuple[str, str], ...] = (
    ("ledger.post", "audit.export"),
    ("roles.manage", "approvals.decide"),
)

# The scope a default role is granted with when none is given (product.md §1 "sees").
DEFAULT_ROLE_SCOPES: dict[str, str] = {
    "administrator": "all",
    "relationship_manager": "assigned",
    "finance_officer": "branch",
    "compliance_officer": "all",
    "auditor": "all",
    "customer_service": "all",
    "trainer": "all",
    "customer": "self",
}
