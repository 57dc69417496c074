"""Errors of notifications, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed


class NoRecipient(ValidationFailed):
    code = "notifications.no_recipient"

    def default_message(self) -> str:
        return _("A notification needs a customer or a user to receive it.")
