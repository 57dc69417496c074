"""Errors of the custody lifecycle, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed


class TransitionRefused(Conflict):
    code = "custody.transition_refused"

    def default_message(self) -> str:
        return _("This step is not allowed in the item's current state.")


class PhotoRefused(ValidationFailed):
    code = "custody.photo_refused"

    def default_message(self) -> str:
        return _("The photo was refused.")


class IncidentClosed(Conflict):
    code = "custody.incident_closed"

    def default_message(self) -> str:
        return _("This incident is closed.")


class IncidentNotNotified(Conflict):
    code = "custody.incident_not_notified"

    def default_message(self) -> str:
        return _("Notify the customer before closing the incident.")


class AlreadyNotified(Conflict):
    code = "custody.incident_already_notified"

    def default_message(self) -> str:
        return _("The customer has already been notified of this incident.")


class StocktakeClosed(Conflict):
    code = "custody.stocktake_closed"

    def default_message(self) -> str:
        return _("This stocktake is closed.")


class StocktakeIncomplete(Conflict):
    code = "custody.stocktake_incomplete"

    def default_message(self) -> str:
        return _("Record every line as found or missing before closing the stocktake.")


class DisposalPending(Conflict):
    code = "custody.disposal_pending"

    def default_message(self) -> str:
        return _("A disposal of this item is already waiting for approval.")
