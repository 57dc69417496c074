"""Human names for permission codes and roles, next to the catalogue in `permissions.py`.

People see the translated name ("查看客户") with the stable code in small text
("customers.view"); the catalogue's own label is the single source of each name, so a new
permission gets its name where it is declared. Area names are listed here."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cpms.core.permissions import BY_CODE

AREA_LABELS: dict[str, str | Promise] = {
    "users": _("People"),
    "access": _("Access control"),
    "approvals": _("Approvals"),
    "privacy": _("Personal data"),
    "audit": _("Audit trail"),
    "customers": _("Customers"),
    "holdings": _("Property"),
    "custody": _("Custody"),
    "documents": _("Documents"),
    "retail": _("Retail"),
    "data": _("Data import and export"),
    "quality": _("Data quality"),
    "ledger": _("Ledger"),
}


def permission_label(code: str) -> str:
    """The translated name of a permission code; the code itself when it is unknown (a code
    stored by an older version)."""
    permission = BY_CODE.get(code)
    return str(permission.label) if permission is not None else code


def area_label(area: str) -> str:
    label = AREA_LABELS.get(area)
    return str(label) if label is not None else area


def role_label(code: str) -> str:
    """The translated name of a role code: the product's name for a built-in role, the stored
    name of a composed one, the code when there is no such role."""
    from cpms.access.models import Role

    role = Role.objects.filter(code=code).first()
    return str(role.display_name) if role is not None else code
