"""Checking a customer's values before any write: identity document (and the date of birth it
carries), contacts, branch and relationship manager, KYC dates and custom fields. Errors are
collected per field and raised together; identifier warnings are returned to be stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.core.errors import ValidationFailed
from cpms.customers import custom_fields, validators
from cpms.customers.choices import IDENTITY_KINDS_FOR, CustomerKind, IdentityKind, KycStatus
from cpms.customers.models import CustomFieldDefinition
from cpms.customers.services.derived import kyc_next_review, name_pinyin
from cpms.users.models import Branch

CONTACT_CHECKS = {"phone": validators.check_phone, "email": validators.check_email}
DOCUMENT_FIELDS = {"identity_kind", "identity_number", "identity_country", "kind"}


class _Checker:
    """Collects field errors and warnings while checking one customer's values."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.warnings: list[dict[str, str]] = []

    def identifier(self, field: str, check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            checked = check(*args, **kwargs)
        except validators.IdentifierInvalid as exc:
            self.errors[field] = str(exc.message)
            return None
        for warning in checked.warnings:
            self.warnings.append(
                {"field": field, "code": warning.code, "message": str(warning.message)}
            )
        return checked

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(_("Check the highlighted fields."), fields=self.errors)


def _check_values(
    values: dict[str, Any],
    *,
    actor: Any,
    changed: set[str],
    custom_sent: Mapping[str, Any] | None = None,
    is_new: bool = False,
) -> dict[str, Any]:
    """Validate the full set of a customer's values; return them normalised plus derived ones.
    Only identifiers in `changed` and custom values in `custom_sent` are re-checked (stored ones
    were checked when entered)."""
    checker = _Checker()
    kind = values["kind"]
    identity_kind = values["identity_kind"]
    if identity_kind not in IDENTITY_KINDS_FOR[CustomerKind(kind)]:
        checker.errors["identity_kind"] = _(
            "This identity document does not fit this kind of customer."
        )
    elif changed & DOCUMENT_FIELDS:
        _check_document(values, changed=changed, checker=checker)
    if identity_kind != IdentityKind.PASSPORT:
        values["identity_country"] = ""
    if kind == CustomerKind.ORGANISATION and values.get("date_of_birth") is not None:
        checker.errors["date_of_birth"] = _("An organisation has no date of birth.")
    if values.get("date_of_birth") and values["date_of_birth"] > timezone.localdate():
        checker.errors["date_of_birth"] = _("The date of birth is in the future.")
    for field, check in CONTACT_CHECKS.items():
        if field in changed and values.get(field):
            checked = checker.identifier(field, check, values[field])
            if checked is not None:
                values[field] = checked.value
    _check_assignment(values, actor=actor, checker=checker)
    _check_kyc(values, checker=checker)
    if custom_sent or is_new:
        definitions = list(CustomFieldDefinition.objects.filter(customer_kind=kind))
        values["custom_fields"], errors = custom_fields.check_values(
            definitions,
            stored=values.get("custom_fields") or {},
            sent=custom_sent or {},
            is_new=is_new,
        )
        checker.errors.update(errors)
    checker.raise_if_any()
    values["name_pinyin"] = name_pinyin(values["legal_name"])
    values["_warnings"] = checker.warnings
    return values


def _check_document(values: dict[str, Any], *, changed: set[str], checker: _Checker) -> None:
    """Check a changed identity document in place: the number normalised (a 15-digit resident ID
    becomes 18 digits), a passport's issuing country, and the date of birth a resident ID
    carries (taken when none is given, refused when a changed one contradicts it)."""
    identity_kind = values["identity_kind"]
    number = values["identity_number"] or ""
    if identity_kind == IdentityKind.OTHER:
        if not number.strip():
            checker.errors["identity_number"] = _("Give the document number.")
        values["identity_number"] = number.strip()
        return
    options: dict[str, Any] = {}
    if identity_kind == IdentityKind.PASSPORT:
        options["country"] = values.get("identity_country") or None
    checked = checker.identifier(
        "identity_number",
        validators.check_identity_document,
        identity_kind,
        number,
        **options,
    )
    if checked is None:
        return
    values["identity_number"] = checked.details.get("eighteen_digit", checked.value)
    if identity_kind == IdentityKind.PASSPORT:
        values["identity_country"] = checked.details.get("country") or ""
    birth_date = checked.details.get("birth_date")
    if birth_date is not None:
        if values.get("date_of_birth") in (None, birth_date):
            values["date_of_birth"] = birth_date
        elif "date_of_birth" in changed:
            checker.errors["date_of_birth"] = _(
                "The date of birth does not match the resident ID number."
            )
        else:
            values["date_of_birth"] = birth_date


def _check_assignment(values: dict[str, Any], *, actor: Any, checker: _Checker) -> None:
    """An active branch (the actor's own when none is given) and, if any, an active staff member
    as relationship manager."""
    if values.get("branch_id") is None:
        values["branch_id"] = getattr(actor, "branch_id", None)
    branch_id = values["branch_id"]
    if branch_id is None or not Branch.objects.filter(pk=branch_id, is_active=True).exists():
        checker.errors["branch_id"] = _("Choose an active branch.")
    manager_id = values.get("relationship_manager_id")
    if manager_id is not None and not (
        get_user_model()
        ._default_manager.filter(pk=manager_id, is_active=True, is_staff=True)
        .exists()
    ):
        checker.errors["relationship_manager_id"] = _(
            "The relationship manager must be an active member of staff."
        )


def _check_kyc(values: dict[str, Any], *, checker: _Checker) -> None:
    """Verified without a review date means reviewed today; the next review follows from the
    review date and the risk rating."""
    reviewed = values.get("kyc_reviewed_at")
    if reviewed is None and values["kyc_status"] == KycStatus.VERIFIED:
        reviewed = values["kyc_reviewed_at"] = timezone.localdate()
    if reviewed is not None and reviewed > timezone.localdate():
        checker.errors["kyc_reviewed_at"] = _("The review date is in the future.")
    values["kyc_next_review_at"] = kyc_next_review(reviewed, values["risk_rating"])
