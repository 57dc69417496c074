"""States and reasons of the data-quality app."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cpms.core.transitions import StateMachine


class CandidateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Dismissed")
    MERGE_REQUESTED = "merge_requested", _("Merge requested")
    MERGED = "merged", _("Merged")


# The review of a pair: dismissed or merged for good; a merge request whose approval was rejected
# or expired may be requested again.
CANDIDATE_STATES = StateMachine.from_targets(
    "duplicate candidate",
    {
        CandidateStatus.OPEN: (
            CandidateStatus.MERGE_REQUESTED,
            CandidateStatus.MERGED,
            CandidateStatus.DISMISSED,
        ),
        CandidateStatus.MERGE_REQUESTED: (
            CandidateStatus.MERGE_REQUESTED,
            CandidateStatus.MERGED,
            CandidateStatus.DISMISSED,
        ),
        CandidateStatus.MERGED: (),
        CandidateStatus.DISMISSED: (),
    },
)

# Candidates a reviewer can still act on (dismiss or request a merge).
ACTIONABLE = (CandidateStatus.OPEN, CandidateStatus.MERGE_REQUESTED)


class MatchReason(models.TextChoices):
    IDENTITY_NUMBER = "identity_number", _("Same identity number")
    PHONE = "phone", _("Same phone number")
    EMAIL = "email", _("Same email address")
    NAME = "name", _("Similar name")
    DATE_OF_BIRTH = "date_of_birth", _("Same date of birth")


# Points each reason adds to a candidate's score (capped at 100). A similar name counts only
# together with the same date of birth or the same phone (see services.duplicate_scan).
REASON_POINTS = {
    MatchReason.IDENTITY_NUMBER: 70,
    MatchReason.EMAIL: 35,
    MatchReason.PHONE: 30,
    MatchReason.NAME: 30,
    MatchReason.DATE_OF_BIRTH: 15,
}


class StaleReason(models.TextChoices):
    NOT_UPDATED = "not_updated", _("Not updated for a long time")
    KYC_OVERDUE = "kyc_overdue", _("KYC review overdue")
    DORMANT_WITH_PROPERTY = "dormant_with_property", _("Dormant with property")
