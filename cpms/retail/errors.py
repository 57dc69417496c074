"""Errors of retail records, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict


class PurchaseExists(Conflict):
    """The receipt number is already recorded (references are unique across customers)."""

    code = "retail.purchase_exists"

    def default_message(self) -> str:
        return _("A purchase with this receipt number is already recorded.")
