"""Registering a customer, changing one, and assigning one to a branch and relationship manager.
Each checks the actor's permission and scope, validates (`validation`), refuses a document
another customer holds (`identity`), encrypts personal data onto the row
(`privacy.services.pii_assign`) and records its audit entry, all in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.choices import CustomerStatus, KycStatus
from cpms.customers.errors import KycNeedsApproval, PossibleDuplicate
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.customers.schemas import CustomerData, CustomerPatch
from cpms.customers.services._common import (
    ASSIGNMENT_FIELDS,
    AUDITED_FIELDS,
    OBJECT_TYPE,
    PROTECTED,
    _ensure_in_scope,
    _locked,
    _parse,
    _snapshot,
)
from cpms.customers.services.identity import (
    _blind_index,
    _claim_identity,
    _customer_identity_key,
    _refuse_same_document,
    _release_identity,
    _visible_to,
    possible_duplicates,
)
from cpms.customers.services.kyc import kyc_verification_needs_approval
from cpms.customers.services.validation import _check_assignment, _check_values, _Checker
from cpms.privacy.protected import blind_root_or_none, pii_read_many
from cpms.privacy.services import pii_assign

DOCUMENT_FIELDS = {"identity_kind", "identity_number", "identity_country"}
# Fields a patch cannot clear: a None sent for them means "leave as is".
NOT_CLEARABLE = (
    "legal_name",
    "identity_kind",
    "identity_number",
    "kyc_status",
    "risk_rating",
    "tags",
    "branch_id",
)
# Fields a patch clears with None (stored as "").
CLEARED_TO_TEXT = ("phone", "email", "address", "segment", "identity_country")


# --- register -----------------------------------------------------------------------------


@dataclass
class _Entry:
    """A registration's checked values, split into plain fields, personal data and warnings."""

    values: dict[str, Any]
    pii: dict[str, Any]
    warnings: list[dict[str, str]]
    confirm: bool
    duplicate_reason: str


def customer_register(*, actor: Any, data: CustomerData | Mapping[str, Any]) -> Customer:
    """Register a customer. Raises ValidationFailed with one message per wrong field (nothing
    is written); warnings are stored on the customer (`data_warnings`).

    The same identity document registered already is refused (DuplicateIdentity, naming the
    customer only when the actor may see it). Customers who look like the same person (similar
    name and the same birth date or phone) refuse the registration with PossibleDuplicate unless
    `confirm_possible_duplicate` is set with a `duplicate_reason`; the confirmation is kept on
    the customer and in its audit entry. Marking KYC verified needs a second person
    (`kyc_verify_request`) while the `customers.kyc_verify` approval policy is enabled."""
    require_permission(actor, MANAGE_PERMISSION)
    entry = _registration_entry(actor=actor, data=data)
    values, pii = entry.values, entry.pii
    root = blind_root_or_none()
    identity_index = _blind_index("identity_number", pii["identity_number"], root)
    _refuse_same_document(
        actor=actor,
        identity_kind=values["identity_kind"],
        identity_country=values["identity_country"],
        index=identity_index,
    )
    candidates = possible_duplicates(
        values=values,
        phone_index=_blind_index("phone", pii["phone"], root),
        identity_index=identity_index,
    )
    confirmation = _duplicate_confirmation(actor=actor, entry=entry, candidates=candidates)
    with transaction.atomic():
        customer = _customer_create(
            actor=actor, entry=entry, confirmation=confirmation, now=timezone.now()
        )
        _ensure_in_scope(customer, actor=actor)
        _claim_identity(customer, _customer_identity_key(customer), actor=actor)
        after = {**_snapshot(customer, pii, actor=actor), "warnings": _codes(entry.warnings)}
        if confirmation:
            after["possible_duplicate_of"] = [candidate.customer_number for candidate in candidates]
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_CREATED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            after=after,
            pii_fields=PROTECTED,
            reason=confirmation.get("reason", ""),
        )
    return customer


def _registration_entry(*, actor: Any, data: CustomerData | Mapping[str, Any]) -> _Entry:
    """Parse and check what was entered (every field counts as changed); KYC entered as
    verified is refused while verification needs a second person."""
    parsed = _parse(CustomerData, data)
    entered = parsed.model_dump()
    custom_sent = entered.pop("custom_fields") or {}
    confirm = bool(entered.pop("confirm_possible_duplicate", False))
    duplicate_reason = (entered.pop("duplicate_reason", "") or "").strip()
    values = _check_values(
        {**entered, "custom_fields": {}},
        actor=actor,
        changed=set(CustomerData.model_fields) - {"confirm_possible_duplicate", "duplicate_reason"},
        custom_sent=custom_sent,
        is_new=True,
    )
    if values["kyc_status"] == KycStatus.VERIFIED and kyc_verification_needs_approval():
        raise KycNeedsApproval(fields={"kyc_status": KycNeedsApproval().message})
    pii = {name: values.pop(name) or None for name in PROTECTED}
    warnings = values.pop("_warnings")
    return _Entry(values, pii, warnings, confirm, duplicate_reason)


def _duplicate_confirmation(
    *, actor: Any, entry: _Entry, candidates: list[Customer]
) -> dict[str, Any]:
    """The confirmation kept on the customer when look-alikes exist ({} when none do).
    Without `confirm_possible_duplicate` the registration is refused with the look-alikes the
    actor may see (and how many others exist); a confirmation needs a reason."""
    if not candidates:
        return {}
    visible = _visible_to(actor, candidates)
    if not entry.confirm:
        raise PossibleDuplicate(
            candidates=visible,
            elsewhere=len(candidates) - len(visible),
            fields={
                "confirm_possible_duplicate": _(
                    "Confirm that this is another person, with a reason, to register anyway."
                )
            },
        )
    if not entry.duplicate_reason:
        raise ValidationFailed(
            _("Check the highlighted fields."),
            fields={
                "duplicate_reason": _(
                    "Say why this is not the same person as the customers listed."
                )
            },
        )
    return {
        "candidate_ids": [candidate.pk for candidate in candidates],
        "reason": entry.duplicate_reason[:500],
        "confirmed_by_id": actor.pk,
        "confirmed_at": timezone.now().isoformat(),
    }


def _customer_create(
    *, actor: Any, entry: _Entry, confirmation: dict[str, Any], now: Any
) -> Customer:
    """Insert the row, then give it its number (from the primary key) and its encrypted
    personal data."""
    customer = Customer.objects.create(
        customer_number=f"new-{uuid.uuid4().hex}",
        created_at=now,
        updated_at=now,
        data_warnings=entry.warnings,
        duplicate_confirmation=confirmation,
        status=CustomerStatus.ACTIVE,
        status_changed_at=now,
        **entry.values,
    )
    customer.customer_number = f"C{customer.pk:08d}"
    changed = pii_assign(actor=actor, instance=customer, values=entry.pii)
    customer.save(update_fields=["customer_number", *changed])
    return customer


def _codes(warnings: list[dict[str, str]]) -> list[str]:
    return [f"{warning['field']}:{warning['code']}" for warning in warnings]


# --- update -------------------------------------------------------------------------------


def customer_update(
    *, actor: Any, customer: Customer, data: CustomerPatch | Mapping[str, Any]
) -> Customer:
    """Change the fields given in `data`. Identifier changes are re-validated; a change of
    branch or relationship manager is recorded as `customer.assigned` as well."""
    require_permission(actor, MANAGE_PERMISSION)
    changes = _parse(CustomerPatch, data).changes()
    custom_sent = changes.pop("custom_fields", None) or {}
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        current_pii = pii_read_many([customer], PROTECTED)[0]
        values, changed = _patched_values(customer, current_pii, changes)
        values = _check_values(values, actor=actor, changed=changed, custom_sent=custom_sent)
        warnings = values.pop("_warnings")
        _refuse_unapproved_kyc(customer, values)
        new_pii = {name: values.get(name) or None for name in PROTECTED}
        document_changed = bool(changed & DOCUMENT_FIELDS)
        if document_changed:
            index = _blind_index(
                "identity_number", new_pii["identity_number"], blind_root_or_none()
            )
            _refuse_same_document(
                actor=actor,
                identity_kind=values["identity_kind"],
                identity_country=values["identity_country"],
                index=index,
                exclude=customer.pk,
            )
        before = _snapshot(customer, current_pii, actor=actor)
        update_fields = _values_apply(
            actor=actor, customer=customer, values=values, current_pii=current_pii, new_pii=new_pii
        )
        after = _snapshot(customer, new_pii, actor=actor)
        differing = [name for name in after if after[name] != before[name]]
        if not differing:
            return customer
        if warnings or changed & {"identity_number", "identity_kind", "phone", "email"}:
            kept = [w for w in customer.data_warnings if w.get("field") not in changed]
            customer.data_warnings = kept + warnings
            update_fields.append("data_warnings")
        customer.updated_at = timezone.now()
        customer.save(
            update_fields=[
                *update_fields,
                *(name for name in AUDITED_FIELDS if name != "customer_number"),
                "name_pinyin",
                "updated_at",
            ]
        )
        _ensure_in_scope(customer, actor=actor)
        if document_changed:
            _release_identity(customer)
            _claim_identity(customer, _customer_identity_key(customer), actor=actor)
        _audit_update(
            actor=actor, customer=customer, before=before, after=after, differing=differing
        )
    return customer


def _patched_values(
    customer: Customer, current_pii: Mapping[str, Any], changes: dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """The customer's full values with the patch applied, and the names that really change. A
    None for a field that cannot be cleared is ignored; for a text field it clears it."""
    values = {name: getattr(customer, name) for name in AUDITED_FIELDS}
    values.update(current_pii)
    changes = {
        name: value
        for name, value in changes.items()
        if not (value is None and name in NOT_CLEARABLE)
    }
    for name in CLEARED_TO_TEXT:
        if name in changes and changes[name] is None:
            changes[name] = ""
    changed = {name for name, value in changes.items() if values.get(name) != value}
    values.update(changes)
    return values, changed


def _refuse_unapproved_kyc(customer: Customer, values: Mapping[str, Any]) -> None:
    """Setting KYC verified (or a new review date on a verified customer) needs a second person
    while the `customers.kyc_verify` policy is enabled."""
    if (
        values["kyc_status"] == KycStatus.VERIFIED
        and (
            customer.kyc_status != KycStatus.VERIFIED
            or values["kyc_reviewed_at"] != customer.kyc_reviewed_at
        )
        and kyc_verification_needs_approval()
    ):
        raise KycNeedsApproval(fields={"kyc_status": KycNeedsApproval().message})


def _values_apply(
    *,
    actor: Any,
    customer: Customer,
    values: Mapping[str, Any],
    current_pii: Mapping[str, Any],
    new_pii: Mapping[str, Any],
) -> list[str]:
    """Set the checked values on the row (not saved); personal data that changed is encrypted
    anew. Returns the encrypted fields to save."""
    for name in AUDITED_FIELDS:
        if name != "customer_number":
            setattr(customer, name, values[name])
    customer.name_pinyin = values["name_pinyin"]
    touched = [name for name in PROTECTED if new_pii[name] != (current_pii[name] or None)]
    return pii_assign(
        actor=actor, instance=customer, values={name: new_pii[name] for name in touched}
    )


def _audit_update(
    *,
    actor: Any,
    customer: Customer,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    differing: list[str],
    reason: str = "",
) -> None:
    """`customer.updated` for profile changes, `customer.assigned` for a new branch or
    relationship manager (both when both changed). The bulk import writes the same entries
    (`customers.bulk`), with the file's digest as `reason`."""
    profile = [name for name in differing if name not in ASSIGNMENT_FIELDS]
    if profile:
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_UPDATED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={name: before[name] for name in profile},
            after={name: after[name] for name in profile},
            pii_fields=PROTECTED,
            reason=reason,
        )
    assignment = [name for name in differing if name in ASSIGNMENT_FIELDS]
    if assignment:
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_ASSIGNED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={name: before[name] for name in ASSIGNMENT_FIELDS},
            after={name: after[name] for name in ASSIGNMENT_FIELDS},
            reason=reason,
        )


# --- assign -------------------------------------------------------------------------------


def customer_assign(
    *, actor: Any, customer: Customer, branch: Any, relationship_manager: Any, reason: str = ""
) -> Customer:
    """Move a customer to a branch and relationship manager (which decides who sees it). The
    result must stay inside the actor's scope."""
    require_permission(actor, MANAGE_PERMISSION)
    branch_id = getattr(branch, "pk", branch)
    manager_id = getattr(relationship_manager, "pk", relationship_manager)
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        checker = _Checker()
        values = {"branch_id": branch_id, "relationship_manager_id": manager_id}
        _check_assignment(values, actor=actor, checker=checker)
        checker.raise_if_any()
        before = {name: getattr(customer, name) for name in ASSIGNMENT_FIELDS}
        if before == values:
            return customer
        customer.branch_id = values["branch_id"]
        customer.relationship_manager_id = values["relationship_manager_id"]
        customer.updated_at = timezone.now()
        customer.save(update_fields=[*ASSIGNMENT_FIELDS, "updated_at"])
        _ensure_in_scope(customer, actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_ASSIGNED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before=before,
            after=values,
            reason=reason,
        )
    return customer
