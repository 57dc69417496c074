from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed


class SegregationOfDutiesConflict(Conflict):
    code = "access.sod_conflict"

    def default_message(self) -> str:
        return _("This would give one person two conflicting permissions.")


class SelfGrantRefused(ValidationFailed):
    code = "access.self_grant"

    def default_message(self) -> str:
        return _("You cannot change your own roles.")
