"""Errors of the customer registry, with stable codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


class DuplicateIdentity(Conflict):
    """The identity document is registered already. `existing` is the customer when the actor
    may see it (the console links to it); otherwise nothing about it is told but its branch."""

    code = "customers.duplicate_identity"

    def __init__(self, message: str | None = None, *, existing: Any = None, **kwargs: Any):
        self.existing = existing
        super().__init__(message, **kwargs)

    def default_message(self) -> str:
        return _("A customer with this ID number is already registered.")

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        if self.existing is not None:
            body["error"]["existing"] = {
                "id": self.existing.pk,
                "customer_number": self.existing.customer_number,
            }
        return body


class PossibleDuplicate(Conflict):
    """Existing customers look like the same person (same name or pinyin, and the same birth
    date or phone). Registration needs `confirm_possible_duplicate` and a reason. `candidates`
    are those the actor may see; `elsewhere` counts the others (never named)."""

    code = "customers.possible_duplicate"

    def __init__(
        self,
        message: str | None = None,
        *,
        candidates: Sequence[Any] = (),
        elsewhere: int = 0,
        **kwargs: Any,
    ):
        self.candidates = list(candidates)
        self.elsewhere = elsewhere
        super().__init__(message, **kwargs)

    def default_message(self) -> str:
        return _(
            "This looks like a customer who is already registered. Check the customers listed; "
            "if this is someone else, register anyway and give the reason."
        )

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["error"]["candidates"] = [customer.customer_number for customer in self.candidates]
        body["error"]["candidates_elsewhere"] = self.elsewhere
        return body


class KycRequestPending(Conflict):
    code = "customers.kyc_request_pending"

    def default_message(self) -> str:
        return _("A KYC verification request for this customer is already waiting for approval.")


class KycNeedsApproval(Conflict):
    code = "customers.kyc_needs_approval"

    def default_message(self) -> str:
        return _(
            "Marking KYC as verified needs a second person: use “Request KYC verification” on "
            "the customer's page."
        )


class MergeClash(Conflict):
    """A merge could not move a relation (raised by `services.merge.customer_relations_move`).
    The code keeps the data-quality prefix it had when the merge lived there: it is part of the
    API's wire format (`docs/data_quality.md`)."""

    code = "quality.merge_clash"

    def default_message(self) -> str:
        return _(
            "A record of the merged customer clashes with one of the survivor and no rule "
            "resolves it; nothing was changed."
        )
