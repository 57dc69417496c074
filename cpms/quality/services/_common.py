"""What the data-quality services share: action and object names, the reason check and the
locked, in-scope pair every review decision starts from."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed
from cpms.quality import selectors
from cpms.quality.models import DuplicateCandidate

REVIEW_PERMISSION = selectors.REVIEW_PERMISSION
MERGE_ACTION = "customers.merge"
CANDIDATE_OBJECT = "quality.candidate"
CUSTOMER_OBJECT = "customers.customer"
SUMMARY_OBJECT = "quality.summary"
MAX_REASON = 2000


def _clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    if len(text) > MAX_REASON:
        raise ValidationFailed(
            fields={"reason": _("Use at most %(max)d characters.") % {"max": MAX_REASON}}
        )
    return text


def _locked_candidate(actor: Any, pk: int) -> DuplicateCandidate:
    """The pair, locked, if both customers are in the actor's scope (404 otherwise)."""
    selectors.candidate_get_for_user(user=actor, pk=pk)
    return DuplicateCandidate.objects.select_for_update().get(pk=pk)
