"""Errors of the privacy layer, with stable codes."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, CpmsError, ValidationFailed


class ReasonRequired(ValidationFailed):
    code = "privacy.reason_required"

    def default_message(self) -> str:
        return _("Give a reason of at least 5 characters for revealing personal data.")


class RateLimited(CpmsError):
    code = "privacy.rate_limited"
    status = 429

    def default_message(self) -> str:
        return _("You have revealed too much personal data recently. Try again later.")


class SubjectErased(Conflict):
    code = "privacy.subject_erased"

    def default_message(self) -> str:
        return _("This person's data key has been destroyed; their personal data is erased.")


class MasterKeyMissing(CpmsError):
    code = "privacy.master_key_missing"
    status = 500

    def default_message(self) -> str:
        return _("A data key is wrapped by a master key that is not configured.")


class IntegrityFailed(CpmsError):
    """A stored value or wrapped key does not authenticate: altered, moved or corrupted."""

    code = "privacy.integrity_failed"
    status = 500

    def default_message(self) -> str:
        return _("Stored personal data failed its integrity check.")
