"""Errors of the property register, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed


class HoldingExists(Conflict):
    code = "holdings.exists"

    def default_message(self) -> str:
        return _("This customer already has property of this kind with this identifier.")


class HoldingStatusRefused(Conflict):
    code = "holdings.status_transition"

    def default_message(self) -> str:
        return _("This status change is not allowed.")


class CustodyOwned(Conflict):
    code = "holdings.custody_owned"

    def default_message(self) -> str:
        return _("Items in custody change through the custody lifecycle, not here.")


class HoldingClosed(Conflict):
    code = "holdings.closed"

    def default_message(self) -> str:
        return _("This property is closed, returned or disposed of and can no longer change.")


class WrongKind(Conflict):
    code = "holdings.wrong_kind"

    def default_message(self) -> str:
        return _("This operation does not apply to this kind of property.")


class PositionExists(Conflict):
    code = "holdings.position_exists"

    def default_message(self) -> str:
        return _("The portfolio already holds this instrument; change that position instead.")


class PriceImportFailed(ValidationFailed):
    code = "holdings.price_import_failed"

    def default_message(self) -> str:
        return _("The price file was not imported: nothing was written.")
