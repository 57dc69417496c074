"""Errors of the data-quality app, with stable codes."""

from django.utils.translation import gettext as _

from cpms.core.errors import Conflict, ValidationFailed


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


class MergeClash(Conflict):
    code = "quality.merge_clash"

    def default_message(self) -> str:
        return _(
            "A record of the merged customer clashes with one of the survivor and no rule "
            "resolves it; nothing was changed."
        )


class SurvivorInvalid(ValidationFailed):
    code = "quality.survivor_invalid"

    def default_message(self) -> str:
        return _("The survivor must be one of the two customers of the pair.")
