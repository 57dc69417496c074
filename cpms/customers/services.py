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
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, in_scope
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
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
)
from cpms.customers.errors import (
    ConsentAlreadyGranted,
    ConsentAlreadyWithdrawn,
    CustomFieldExists,
    OutOfScope,
    StatusTransitionRefused,
)
from cpms.customers.models import (
    CONFIGURE_PERMISSION,
    MANAGE_PERMISSION,
    Consent,
    Customer,
    CustomFieldDefinition,
)
from cpms.customers.schemas import (
    CustomerData,
    CustomerPatch,
    CustomFieldDefinitionIn,
    CustomFieldDefinitionPatch,
)
from cpms.privacy.protected import pii_read_many
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


# --- customers ----------------------------------------------------------------------------


def customer_register(*, actor: Any, data: CustomerData | Mapping[str, Any]) -> Customer:
    """Register a customer. Raises ValidationFailed with one message per wrong field (nothing
    is written); warnings are stored on the customer (`data_warnings`)."""
    require_permission(actor, MANAGE_PERMISSION)
    parsed = _parse(CustomerData, data)
    entered = parsed.model_dump()
    custom_sent = entered.pop("custom_fields") or {}
    values = _check_values(
        {**entered, "custom_fields": {}},
        actor=actor,
        changed=set(type(parsed).model_fields),
        custom_sent=custom_sent,
        is_new=True,
    )
    pii = {name: values.pop(name) or None for name in PROTECTED}
    warnings = values.pop("_warnings")
    now = timezone.now()
    with transaction.atomic():
        customer = Customer.objects.create(
            customer_number=f"new-{uuid.uuid4().hex}",
            created_at=now,
            updated_at=now,
            data_warnings=warnings,
            status=CustomerStatus.ACTIVE,
            status_changed_at=now,
            **values,
        )
        customer.customer_number = f"C{customer.pk:08d}"
        changed = pii_assign(actor=actor, instance=customer, values=pii)
        customer.save(update_fields=["customer_number", *changed])
        _ensure_in_scope(customer, actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_CREATED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            after={**_snapshot(customer, pii, actor=actor), "warnings": _codes(warnings)},
            pii_fields=PROTECTED,
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
        new_pii = {name: values.get(name) or None for name in PROTECTED}
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
