"""What the customer services share: constants, input parsing, the audit snapshot of a customer
and the locked, in-scope row every write starts from."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pydantic
from django.utils.translation import gettext as _

from cpms.access.scopes import get_for_user, in_scope
from cpms.core.errors import ValidationFailed
from cpms.customers.errors import OutOfScope
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.privacy.services import value_digest

OBJECT_TYPE = "customers.customer"
PROTECTED = ("identity_number", "phone", "email", "address")
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


def _parse(schema: type[pydantic.BaseModel], data: Any) -> Any:
    """The input as `schema` (a mapping or the schema itself); pydantic's errors become one
    ValidationFailed with a message per field, like every other refusal."""
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


def _plain(value: Any) -> Any:
    """A value as the audit trail stores it (dates as ISO text, dicts copied)."""
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
    """A write must not move a customer out of the actor's own scope (OutOfScope)."""
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
