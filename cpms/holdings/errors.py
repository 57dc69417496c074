"""Errors of the property register, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict


class HoldingExists(Conflict):
    code = "holdings.exists"

    def default_message(self) -> str:
        return _("This customer already has property of this kind with this identifier.")


class HoldingStatusRefused(Conflict):
    code = "holdings.status_transition"

    def default_message(self) -> str:
        return _("This status change is not allowed.")
