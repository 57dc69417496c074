"""Errors of the customer registry, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, PermissionDenied


class StatusTransitionRefused(Conflict):
    code = "customers.status_transition"

    def default_message(self) -> str:
        return _("This status change is not allowed.")


class OutOfScope(PermissionDenied):
    code = "customers.out_of_scope"

    def default_message(self) -> str:
        return _(
            "The customer would be outside your scope: assign it to yourself or to a branch "
            "you work for."
        )


class ConsentAlreadyGranted(Conflict):
    code = "customers.consent_active"

    def default_message(self) -> str:
        return _("This consent is already granted; withdraw it first to record a new one.")


class ConsentAlreadyWithdrawn(Conflict):
    code = "customers.consent_withdrawn"

    def default_message(self) -> str:
        return _("This consent is already withdrawn.")


class CustomFieldExists(Conflict):
    code = "customers.custom_field_exists"

    def default_message(self) -> str:
        return _("A custom field with this key already exists for this kind of customer.")
