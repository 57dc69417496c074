"""Every write of the customer registry. Each function checks the actor's permission and scope,
validates (identifiers through `customers.validators`), writes, encrypts personal data onto the
row (`privacy.services.pii_assign`) and records its audit entry, all in one transaction."""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Any

import pydantic
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, in_scope, scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers import custom_fields, validators
from cpms.customers.choices import (
    IDENTITY_KINDS_FOR,
    KYC_REVIEW_YEARS,
    STATUS_TRANSITIONS,
    CustomerKind,
    CustomerStatus,
    CustomFieldType,
    IdentityKind,
    KycStatus,
    RiskRating,
)
from cpms.customers.errors import (
    ConsentAlreadyGranted,
    ConsentAlreadyWithdrawn,
    CustomFieldExists,
    DuplicateIdentity,
    KycNeedsApproval,
    KycRequestPending,
    OutOfScope,
    PossibleDuplicate,
    StatusTransitionRefused,
)
from cpms.customers.models import (
    CONFIGURE_PERMISSION,
    MANAGE_PERMISSION,
    VIEW_PERMISSION,
    Consent,
    Customer,
    CustomFieldDefinition,
    IdentityClaim,
)
from cpms.customers.schemas import (
    CustomerData,
    CustomerPatch,
    CustomFieldDefinitionIn,
    CustomFieldDefinitionPatch,
)
from cpms.privacy.protected import blind_root_or_none, field_of, index_of, pii_read_many
from cpms.privacy.services import pii_assign, value_digest
from cpms.users.models import Branch

OBJECT_TYPE = "customers.customer"
PROTECTED = ("identity_number", "phone", "email", "address")
CONTACT_CHECKS = {"phone": validators.check_phone, "email": validators.check_email}
AUDITED_FIELDS = (
    "customer_number",
    "kind",
    "legal_name",
    "identity_kind",
    "identity_country",
    "date_of_birth",
    "branch_id",
    "relationship_manager_id",
    "kyc_status",
    "kyc_reviewed_at",
    "kyc_next_review_at",
    "risk_rating",
    "segment",
    "status",
    "tags",
    "custom_fields",
)
ASSIGNMENT_FIELDS = ("branch_id", "relationship_manager_id")
KYC_VERIFY_ACTION = "customers.kyc_verify"
# rows read per block (same phone, same birth date) when looking for possible duplicates
DUPLICATE_BLOCK = 500


# --- derived values -----------------------------------------------------------------------


def name_pinyin(name: str) -> str:
    """Full pinyin and initials of a name, lower case, for search: 张三 -> "zhangsan zs"."""
    syllables = [re.sub(r"[^0-9a-z]", "", part.lower()) for part in lazy_pinyin(name or "")]
    syllables = [part for part in syllables if part]
    if not syllables:
        return ""
    return f"{''.join(syllables)} {''.join(part[0] for part in syllables)}"[:600]


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def kyc_next_review(reviewed: datetime.date | None, risk_rating: str) -> datetime.date | None:
    """The next KYC review: low risk every 3 years, medium every 2, high every year."""
    if reviewed is None:
        return None
    return add_years(reviewed, KYC_REVIEW_YEARS[risk_rating])


# --- validation ---------------------------------------------------------------------------


def _parse(schema: type[pydantic.BaseModel], data: Any) -> Any:
    if isinstance(data, schema):
        return data
    try:
        return schema.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        fields = {
            ".".join(str(part) for part in error["loc"]) or "data": error["msg"]
            for error in exc.errors()
        }
        raise ValidationFailed(_("Check the highlighted fields."), fields=fields) from None


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
    elif changed & {"identity_kind", "identity_number", "identity_country", "kind"}:
        number = values["identity_number"] or ""
        if identity_kind == IdentityKind.OTHER:
            if not number.strip():
                checker.errors["identity_number"] = _("Give the document number.")
            values["identity_number"] = number.strip()
        else:
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
            if checked is not None:
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


def _check_assignment(values: dict[str, Any], *, actor: Any, checker: _Checker) -> None:
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
    reviewed = values.get("kyc_reviewed_at")
    if reviewed is None and values["kyc_status"] == KycStatus.VERIFIED:
        reviewed = values["kyc_reviewed_at"] = timezone.localdate()
    if reviewed is not None and reviewed > timezone.localdate():
        checker.errors["kyc_reviewed_at"] = _("The review date is in the future.")
    values["kyc_next_review_at"] = kyc_next_review(reviewed, values["risk_rating"])


# --- audit snapshots ----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(value)
    return value


def _snapshot(
    customer: Customer, pii: Mapping[str, str | None], *, actor: Any, fields: Any = None
) -> dict[str, Any]:
    """Audit view of a customer: plain fields as they are, personal data as keyed digests
    (and then hashed again by audit_record through `pii_fields`)."""
    names = AUDITED_FIELDS if fields is None else fields
    snapshot = {name: _plain(getattr(customer, name)) for name in names if name in AUDITED_FIELDS}
    for name in PROTECTED:
        if fields is None or name in fields:
            value = pii.get(name)
            snapshot[name] = value_digest(value, actor=actor) if value else ""
    return snapshot


def _ensure_in_scope(customer: Customer, *, actor: Any) -> None:
    if not in_scope(customer, user=actor, permission=MANAGE_PERMISSION):
        raise OutOfScope()


def _locked(actor: Any, customer_id: int) -> Customer:
    """The customer row, locked, if the actor may manage it (404 otherwise)."""
    return get_for_user(
        Customer.objects.select_for_update(),
        user=actor,
        pk=customer_id,
        permission=MANAGE_PERMISSION,
    )


# --- duplicates ---------------------------------------------------------------------------


def _blind_index(name: str, value: Any, root: bytes | None) -> str:
    """The blind index of a protected value, or "" (no value, nothing left once normalised, or
    no blind-index key yet)."""
    text = "" if value is None else str(value).strip()
    if root is None or not text or not crypto.NORMALISERS[field_of(Customer, name).kind](text):
        return ""
    return index_of(Customer, name, text, root)


def identity_key(identity_kind: str, identity_country: str, index: str) -> str:
    """The key of an identity document: its kind, issuing country (passports) and the blind
    index of its number. "" when there is no number."""
    return f"{identity_kind}:{identity_country or ''}:{index}" if index else ""


def _same_document(identity_kind: str, identity_country: str, index: str) -> Q:
    return Q(
        identity_number_index=index,
        identity_kind=identity_kind,
        identity_country=identity_country or "",
    )


def _visible_to(actor: Any, customers: list[Customer]) -> list[Customer]:
    if not customers:
        return []
    visible = set(
        scoped(
            Customer.objects.filter(pk__in=[customer.pk for customer in customers]),
            user=actor,
            permission=VIEW_PERMISSION,
        ).values_list("pk", flat=True)
    )
    return [customer for customer in customers if customer.pk in visible]


def _refuse_same_document(
    *, actor: Any, identity_kind: str, identity_country: str, index: str, exclude: Any = None
) -> None:
    """DuplicateIdentity when another customer has this document. The message names the
    customer only if the actor may see it; otherwise it names the branch to contact."""
    if not index:
        return
    existing = list(
        Customer.objects.filter(_same_document(identity_kind, identity_country, index))
        .exclude(pk=exclude)
        .select_related("branch")
        .order_by("pk")[:5]
    )
    if not existing:
        return
    visible = _visible_to(actor, existing)
    if visible:
        found = visible[0]
        raise DuplicateIdentity(
            _(
                "A customer with this ID number is already registered: %(number)s %(name)s. "
                "Open that customer instead of registering again."
            )
            % {"number": found.customer_number, "name": found.legal_name},
            existing=found,
            fields={"identity_number": _("Already registered.")},
        )
    raise DuplicateIdentity(
        _(
            "A customer with this ID number is already registered at another branch "
            "(%(branch)s). Contact that branch, or ask compliance to have the customer "
            "assigned to you, instead of registering again."
        )
        % {"branch": existing[0].branch.name},
        fields={"identity_number": _("Already registered at another branch.")},
    )


def possible_duplicates(
    *, values: Mapping[str, Any], phone_index: str, identity_index: str, exclude: Any = None
) -> list[Customer]:
    """Customers who look like the same person: a similar name (written or pinyin, the
    data-quality matching) and the same date of birth (individuals) or the same phone; or the
    same number on another kind of document. Blocked by indexes, never a scan of the table."""
    from cpms.quality.matching import (
        NAME_THRESHOLD,
        ORGANISATION_NAME_THRESHOLD,
        NameKey,
        name_similarity,
    )

    organisation = values["kind"] == CustomerKind.ORGANISATION
    blocks = Q(pk__in=[])
    if phone_index:
        blocks |= Q(phone_index=phone_index)
    if values.get("date_of_birth") and not organisation:
        blocks |= Q(date_of_birth=values["date_of_birth"], kind=CustomerKind.INDIVIDUAL)
    if identity_index:
        blocks |= Q(identity_number_index=identity_index)
    rows = list(
        Customer.objects.filter(blocks)
        .exclude(pk=exclude)
        .only(
            "pk",
            "kind",
            "legal_name",
            "name_pinyin",
            "customer_number",
            "identity_number_index",
            "branch_id",
            "relationship_manager_id",
        )
        .order_by("pk")[:DUPLICATE_BLOCK]
    )
    if not rows:
        return []
    key = NameKey.of(values["legal_name"], values["name_pinyin"], organisation=organisation)
    threshold = ORGANISATION_NAME_THRESHOLD if organisation else NAME_THRESHOLD
    found = []
    for row in rows:
        if identity_index and row.identity_number_index == identity_index:
            found.append(row)
            continue
        if row.kind != values["kind"]:
            continue
        other = NameKey.of(row.legal_name, row.name_pinyin, organisation=organisation)
        if name_similarity(key, other, threshold) >= threshold:
            found.append(row)
    return found


def _claim_identity(customer: Customer, key: str, *, actor: Any) -> None:
    """Take the document's claim for `customer` (inside the caller's transaction). A claim held
    by a customer who still carries the document means a registration of the same document
    committed first: DuplicateIdentity. A stale claim (number changed since) is taken over."""
    if not key:
        return
    try:
        with transaction.atomic():
            IdentityClaim.objects.create(key=key, customer=customer)
        return
    except IntegrityError:
        pass
    claim = IdentityClaim.objects.select_for_update().select_related("customer").get(key=key)
    holder = claim.customer
    kind, country, index = key.split(":", 2)
    if holder.pk != customer.pk and (
        holder.identity_kind,
        holder.identity_country,
        holder.identity_number_index,
    ) == (kind, country, index):
        _refuse_same_document(
            actor=actor,
            identity_kind=kind,
            identity_country=country,
            index=index,
            exclude=customer.pk,
        )
        raise DuplicateIdentity(fields={"identity_number": _("Already registered.")})
    claim.customer = customer
    claim.save(update_fields=["customer"])


def identity_claim(customer: Customer, *, actor: Any) -> None:
    """Claim the customer's identity document (for writers other than customer_register, such
    as a bulk import creating rows itself): inside their transaction, after the row carries its
    blind index. Raises DuplicateIdentity when another customer holds the document."""
    _claim_identity(
        customer,
        identity_key(
            customer.identity_kind, customer.identity_country, customer.identity_number_index
        ),
        actor=actor,
    )


def _release_identity(customer: Customer) -> None:
    IdentityClaim.objects.filter(customer=customer).delete()


# --- customers ----------------------------------------------------------------------------


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
    confirmation: dict[str, Any] = {}
    if candidates:
        visible = _visible_to(actor, candidates)
        if not confirm:
            raise PossibleDuplicate(
                candidates=visible,
                elsewhere=len(candidates) - len(visible),
                fields={
                    "confirm_possible_duplicate": _(
                        "Confirm that this is another person, with a reason, to register anyway."
                    )
                },
            )
        if not duplicate_reason:
            raise ValidationFailed(
                _("Check the highlighted fields."),
                fields={
                    "duplicate_reason": _(
                        "Say why this is not the same person as the customers listed."
                    )
                },
            )
        confirmation = {
            "candidate_ids": [candidate.pk for candidate in candidates],
            "reason": duplicate_reason[:500],
            "confirmed_by_id": actor.pk,
            "confirmed_at": timezone.now().isoformat(),
        }
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.create(
            customer_number=f"new-{uuid.uuid4().hex}",
            created_at=now,
            updated_at=now,
            data_warnings=warnings,
            duplicate_confirmation=confirmation,
            status=CustomerStatus.ACTIVE,
            status_changed_at=now,
            **values,
        )
        customer.customer_number = f"C{customer.pk:08d}"
        changed = pii_assign(actor=actor, instance=customer, values=pii)
        customer.save(update_fields=["customer_number", *changed])
        _ensure_in_scope(customer, actor=actor)
        _claim_identity(
            customer,
            identity_key(
                customer.identity_kind, customer.identity_country, customer.identity_number_index
            ),
            actor=actor,
        )
        after = {**_snapshot(customer, pii, actor=actor), "warnings": _codes(warnings)}
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


def _codes(warnings: list[dict[str, str]]) -> list[str]:
    return [f"{warning['field']}:{warning['code']}" for warning in warnings]


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
        values = {name: getattr(customer, name) for name in AUDITED_FIELDS}
        values.update(current_pii)
        changes = {
            name: value
            for name, value in changes.items()
            if not (
                value is None
                and name
                in (
                    "legal_name",
                    "identity_kind",
                    "identity_number",
                    "kyc_status",
                    "risk_rating",
                    "tags",
                    "branch_id",
                )
            )
        }
        for name in ("phone", "email", "address", "segment", "identity_country"):
            if name in changes and changes[name] is None:
                changes[name] = ""
        changed = {name for name, value in changes.items() if values.get(name) != value}
        values.update(changes)
        values = _check_values(values, actor=actor, changed=changed, custom_sent=custom_sent)
        warnings = values.pop("_warnings")
        if (
            values["kyc_status"] == KycStatus.VERIFIED
            and (
                customer.kyc_status != KycStatus.VERIFIED
                or values["kyc_reviewed_at"] != customer.kyc_reviewed_at
            )
            and kyc_verification_needs_approval()
        ):
            raise KycNeedsApproval(fields={"kyc_status": KycNeedsApproval().message})
        new_pii = {name: values.get(name) or None for name in PROTECTED}
        document_changed = bool(changed & {"identity_kind", "identity_number", "identity_country"})
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
        for name in AUDITED_FIELDS:
            if name != "customer_number":
                setattr(customer, name, values[name])
        customer.name_pinyin = values["name_pinyin"]
        touched = [name for name in PROTECTED if new_pii[name] != (current_pii[name] or None)]
        update_fields = pii_assign(
            actor=actor, instance=customer, values={name: new_pii[name] for name in touched}
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
            _claim_identity(
                customer,
                identity_key(
                    customer.identity_kind,
                    customer.identity_country,
                    customer.identity_number_index,
                ),
                actor=actor,
            )
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
            )
    return customer


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


def customer_status_change(*, actor: Any, customer: Customer, status: str, reason: str) -> Customer:
    """Move a customer along the status lifecycle (choices.STATUS_TRANSITIONS)."""
    require_permission(actor, MANAGE_PERMISSION)
    reason = (reason or "").strip()
    if status not in CustomerStatus.values:
        raise ValidationFailed(fields={"status": _("Unknown status.")})
    if not reason:
        raise ValidationFailed(fields={"reason": _("Give a reason for the status change.")})
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if status not in STATUS_TRANSITIONS[customer.status]:
            raise StatusTransitionRefused(
                _("A customer cannot go from %(old)s to %(new)s.")
                % {
                    "old": CustomerStatus(customer.status).label,
                    "new": CustomerStatus(status).label,
                },
                fields={"status": _("Not allowed from the current status.")},
            )
        before = customer.status
        now = timezone.now()
        customer.status = status
        customer.status_changed_at = now
        customer.updated_at = now
        customer.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_STATUS_CHANGED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return customer


# --- KYC verification (four eyes) ---------------------------------------------------------


def kyc_verification_needs_approval() -> bool:
    """Whether marking KYC verified goes through maker-checker (`customers.kyc_verify` policy,
    enabled by default). A missing policy fails closed."""
    from cpms.approvals.errors import UnknownAction
    from cpms.approvals.services import approval_required

    try:
        return approval_required(KYC_VERIFY_ACTION)
    except UnknownAction:
        return True


def kyc_pending_request(customer: Customer) -> Any:
    """The pending (not expired) KYC verification request of a customer, or None."""
    from cpms.approvals.choices import ApprovalStatus
    from cpms.approvals.models import ApprovalRequest

    return (
        ApprovalRequest.objects.filter(
            action=KYC_VERIFY_ACTION,
            object_type=OBJECT_TYPE,
            object_id=str(customer.pk),
            status=ApprovalStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("maker")
        .order_by("-pk")
        .first()
    )


def _kyc_mark_verified(
    *,
    actor: Any,
    customer: Customer,
    reason: str,
    reviewed_on: datetime.date | None = None,
    approved_by: Any = None,
    request: Any = None,
) -> Customer:
    """Set KYC verified as reviewed on `reviewed_on` (default today; next review by risk
    rating), audited (inside the caller's transaction, the row locked)."""
    today = reviewed_on or timezone.localdate()
    before = {
        "kyc_status": customer.kyc_status,
        "kyc_reviewed_at": _plain(customer.kyc_reviewed_at),
        "kyc_next_review_at": _plain(customer.kyc_next_review_at),
    }
    customer.kyc_status = KycStatus.VERIFIED
    customer.kyc_reviewed_at = today
    customer.kyc_next_review_at = kyc_next_review(today, customer.risk_rating)
    customer.updated_at = timezone.now()
    customer.save(
        update_fields=["kyc_status", "kyc_reviewed_at", "kyc_next_review_at", "updated_at"]
    )
    after: dict[str, Any] = {
        "kyc_status": customer.kyc_status,
        "kyc_reviewed_at": _plain(customer.kyc_reviewed_at),
        "kyc_next_review_at": _plain(customer.kyc_next_review_at),
    }
    if request is not None:
        after["approval_request_id"] = request.pk
    if approved_by is not None:
        after["approved_by_id"] = approved_by.pk
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_UPDATED,
        object_type=OBJECT_TYPE,
        object_id=customer.pk,
        before=before,
        after=after,
        reason=reason,
    )
    return customer


def kyc_verify_request(
    *,
    actor: Any,
    customer: Customer,
    reason: str = "",
    reviewed_on: datetime.date | None = None,
) -> Any:
    """Ask a second person to confirm the customer's KYC as verified (the documents reviewed
    on `reviewed_on`, default today). Returns the pending ApprovalRequest; while the
    `customers.kyc_verify` policy is disabled the customer is marked verified at once and
    returned instead. One pending request per customer."""
    from cpms.approvals.services import approval_submit

    require_permission(actor, MANAGE_PERMISSION)
    text = (reason or "").strip()[:500] or _("KYC documents checked.")
    if reviewed_on is not None and reviewed_on > timezone.localdate():
        raise ValidationFailed(fields={"reviewed_on": _("The review date is in the future.")})
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if customer.status == CustomerStatus.CLOSED:
            raise StatusTransitionRefused(_("The KYC of a closed customer cannot be verified."))
        if kyc_pending_request(customer) is not None:
            raise KycRequestPending()
        submission = approval_submit(
            actor=actor,
            action=KYC_VERIFY_ACTION,
            payload={
                "customer_id": customer.pk,
                "customer_number": customer.customer_number,
                "legal_name": customer.legal_name,
                "kyc_status": customer.kyc_status,
                "risk_rating": customer.risk_rating,
                "branch": str(customer.branch.name) if customer.branch_id else "",
                "reviewed_on": (reviewed_on or timezone.localdate()).isoformat(),
            },
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            reason=text,
        )
        if submission.required:
            return submission.request
        return _kyc_mark_verified(
            actor=actor, customer=customer, reason=text, reviewed_on=reviewed_on
        )


def kyc_verify_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """Executor of an approved `customers.kyc_verify` request (inside the final approval's
    transaction): the maker's permission and scope are checked again now; the approver is
    recorded with the change."""
    maker = request.maker
    require_permission(maker, MANAGE_PERMISSION)
    try:
        customer = _locked(maker, request.payload["customer_id"])
    except NotFound:
        raise OutOfScope(_("The customer is no longer in the requester's scope.")) from None
    if customer.status == CustomerStatus.CLOSED:
        raise StatusTransitionRefused(_("The KYC of a closed customer cannot be verified."))
    try:
        reviewed_on = datetime.date.fromisoformat(str(request.payload.get("reviewed_on")))
    except ValueError:
        reviewed_on = None
    _kyc_mark_verified(
        actor=maker,
        customer=customer,
        reason=f"{request.reason} (#{request.pk})",
        reviewed_on=reviewed_on,
        approved_by=actor,
        request=request,
    )
    return {"customer_id": customer.pk, "kyc_status": customer.kyc_status}


def kyc_verify_describe(payload: Mapping[str, Any]) -> str:
    """The approval inbox's line for a KYC verification request."""
    text = _("Verify the KYC of %(name)s (%(number)s)") % {
        "name": payload.get("legal_name") or "—",
        "number": payload.get("customer_number") or "—",
    }
    status = payload.get("kyc_status")
    if status in KycStatus.values:
        text += " · " + _("now: %(status)s") % {"status": KycStatus(status).label}
    risk = payload.get("risk_rating")
    if risk in RiskRating.values:
        text += " · " + _("risk: %(rating)s") % {"rating": RiskRating(risk).label}
    if payload.get("branch"):
        text += f" · {payload['branch']}"
    return text


# --- consents -----------------------------------------------------------------------------


def consent_grant(
    *,
    actor: Any,
    customer: Customer,
    purpose: str,
    channel: str,
    granted_at: datetime.datetime | None = None,
) -> Consent:
    """Record a consent. One active consent per purpose; granting again after a withdrawal adds
    a new row, so the history stays."""
    require_permission(actor, MANAGE_PERMISSION)
    from cpms.customers.choices import ConsentChannel, ConsentPurpose

    errors = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = _("Unknown purpose.")
    if channel not in ConsentChannel.values:
        errors["channel"] = _("Unknown channel.")
    granted_at = granted_at or timezone.now()
    if granted_at > timezone.now():
        errors["granted_at"] = _("The consent date is in the future.")
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if customer.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists():
            raise ConsentAlreadyGranted(fields={"purpose": _("Already granted.")})
        consent = Consent.objects.create(
            customer=customer,
            purpose=purpose,
            channel=channel,
            granted_at=granted_at,
            granted_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_GRANTED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            after={
                "consent_id": consent.pk,
                "purpose": purpose,
                "channel": channel,
                "granted_at": granted_at.isoformat(),
            },
        )
    return consent


def consent_withdraw(*, actor: Any, consent: Consent, channel: str, reason: str = "") -> Consent:
    """Withdraw a consent: the row keeps when it was granted and gains when it was withdrawn."""
    require_permission(actor, MANAGE_PERMISSION)
    from cpms.customers.choices import ConsentChannel

    if channel not in ConsentChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    with transaction.atomic():
        customer = _locked(actor, consent.customer_id)
        consent = Consent.objects.select_for_update().get(pk=consent.pk, customer=customer)
        if consent.withdrawn_at is not None:
            raise ConsentAlreadyWithdrawn()
        consent.withdrawn_at = timezone.now()
        consent.withdrawn_by = actor
        consent.withdrawal_channel = channel
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_channel"])
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_WITHDRAWN,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={"consent_id": consent.pk, "purpose": consent.purpose, "withdrawn_at": None},
            after={
                "consent_id": consent.pk,
                "purpose": consent.purpose,
                "withdrawn_at": consent.withdrawn_at.isoformat(),
                "channel": channel,
            },
            reason=(reason or "").strip(),
        )
    return consent


# --- custom field definitions -------------------------------------------------------------

CUSTOM_FIELD_OBJECT_TYPE = "customers.custom_field"
DEFINITION_FIELDS = (
    "customer_kind",
    "key",
    "label",
    "help_text",
    "field_type",
    "choices",
    "required",
    "active",
    "order",
)


def _definition_snapshot(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {name: _plain(getattr(definition, name)) for name in DEFINITION_FIELDS}


def _check_definition(values: dict[str, Any]) -> None:
    """Normalise and check a definition's values in place (ValidationFailed on errors)."""
    errors: dict[str, str] = {}
    if "key" in values:
        values["key"] = str(values["key"]).strip()
        if not custom_fields.KEY_PATTERN.match(values["key"]):
            errors["key"] = _(
                "Use 1 to 40 lower-case letters, digits and underscores (for example "
                "annual_income)."
            )
    if "label" in values:
        values["label"] = str(values["label"]).strip()
        if not values["label"]:
            errors["label"] = _("Give a label.")
    if "help_text" in values:
        values["help_text"] = str(values["help_text"] or "").strip()
    choices, problem = custom_fields.clean_choices(values.get("choices"))
    values["choices"] = choices
    if problem:
        errors["choices"] = problem
    elif values["field_type"] == CustomFieldType.CHOICE and not choices:
        errors["choices"] = _("A choice field needs at least one option.")
    elif values["field_type"] != CustomFieldType.CHOICE and choices:
        errors["choices"] = _("Only a choice field has options.")
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)


def custom_field_define(
    *, actor: Any, data: CustomFieldDefinitionIn | Mapping[str, Any]
) -> CustomFieldDefinition:
    """Define a custom field for one kind of customer (`customer.custom_field_defined`). Kind,
    key and type are fixed from then on; a required field applies to customers registered
    afterwards."""
    require_permission(actor, CONFIGURE_PERMISSION)
    values = _parse(CustomFieldDefinitionIn, data).model_dump()
    _check_definition(values)
    with transaction.atomic():
        if CustomFieldDefinition.objects.filter(
            customer_kind=values["customer_kind"], key=values["key"]
        ).exists():
            raise CustomFieldExists(fields={"key": _("This key is already in use.")})
        now = timezone.now()
        definition = CustomFieldDefinition.objects.create(created_at=now, updated_at=now, **values)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOM_FIELD_DEFINED,
            object_type=CUSTOM_FIELD_OBJECT_TYPE,
            object_id=definition.pk,
            after=_definition_snapshot(definition),
        )
    return definition


def custom_field_update(
    *,
    actor: Any,
    definition: CustomFieldDefinition,
    data: CustomFieldDefinitionPatch | Mapping[str, Any],
) -> CustomFieldDefinition:
    """Change a definition's label, help text, options, required flag, order or whether it is
    active (`customer.custom_field_changed`, changed fields only). Values stored on customers
    are never rewritten: a retired option or a deactivated field keeps its stored values."""
    require_permission(actor, CONFIGURE_PERMISSION)
    changes = {
        name: value
        for name, value in _parse(CustomFieldDefinitionPatch, data).changes().items()
        if value is not None or name in ("choices", "help_text")
    }
    with transaction.atomic():
        definition = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        before = _definition_snapshot(definition)
        values = {"field_type": definition.field_type, "choices": definition.choices, **changes}
        _check_definition(values)
        changed = [name for name in changes if values[name] != before[name]]
        if not changed:
            return definition
        for name in changed:
            setattr(definition, name, values[name])
        definition.updated_at = timezone.now()
        definition.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOM_FIELD_CHANGED,
            object_type=CUSTOM_FIELD_OBJECT_TYPE,
            object_id=definition.pk,
            before={name: before[name] for name in changed},
            after={name: _plain(getattr(definition, name)) for name in changed},
        )
    return definition
