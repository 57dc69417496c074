"""Domain errors of loyalty points (stable codes)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed


class InsufficientPoints(ValidationFailed):
    code = "points.insufficient"

    def default_message(self) -> str:
        return _("The customer does not have enough points.")


class InvalidRule(ValidationFailed):
    code = "points.invalid_rule"

    def default_message(self) -> str:
        return _("The earn rule is not valid.")
