"""Vocabularies of the property register. Values are stored: never rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HoldingKind(models.TextChoices):
    ACCOUNT = "account", _("Cash / client-money account")
    PORTFOLIO = "portfolio", _("Investment portfolio")
    LOAN = "loan", _("Loan agreement")
    MEMBERSHIP = "membership", _("Loyalty membership")
    CUSTODY_ITEM = "custody_item", _("Item in custody")
    INTELLECTUAL_PROPERTY = "intellectual_property", _("Intellectual property")
    CONTRACT = "contract", _("Contract / document")
    DATA_ASSET = "data_asset", _("Personal-data asset")


class HoldingStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("holding status", "Active")
    SUSPENDED = "suspended", pgettext_lazy("holding status", "Suspended")
    CLOSED = "closed", pgettext_lazy("holding status", "Closed")
    RETURNED = "returned", pgettext_lazy("holding status", "Returned to customer")
    DISPOSED = "disposed", pgettext_lazy("holding status", "Disposed of")


# status -> statuses it may move to through holdings.services.holding_status_change; custody
# items move only through the custody state machine (cpms/custody/), which sets RETURNED/DISPOSED.
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    HoldingStatus.ACTIVE: (HoldingStatus.SUSPENDED, HoldingStatus.CLOSED),
    HoldingStatus.SUSPENDED: (HoldingStatus.ACTIVE, HoldingStatus.CLOSED),
    HoldingStatus.CLOSED: (),
    HoldingStatus.RETURNED: (),
    HoldingStatus.DISPOSED: (),
}
