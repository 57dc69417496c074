"""Errors of the data-quality app, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed

# Raised by the customers app's merge service (it moves the relations); kept importable here.
from cpms.customers.errors import MergeClash

__all__ = [
    "CandidateClosed",
    "MergeClash",
    "MergePending",
    "MergeRefused",
    "SurvivorInvalid",
]


class CandidateClosed(Conflict):
    code = "quality.candidate_closed"

    def default_message(self) -> str:
        return _("This possible duplicate has already been dismissed or merged.")


class MergePending(Conflict):
    code = "quality.merge_pending"

    def default_message(self) -> str:
        return _("A merge of these customers is already waiting for approval.")


class MergeRefused(Conflict):
    code = "quality.merge_refused"

    def default_message(self) -> str:
        return _("These customers cannot be merged.")


class SurvivorInvalid(ValidationFailed):
    code = "quality.survivor_invalid"

    def default_message(self) -> str:
        return _("The survivor must be one of the two customers of the pair.")
