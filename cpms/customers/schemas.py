"""Input and output shapes of the customer registry. `CustomerData` is the one input model of a
customer, shared by the API, the console forms and (later) bulk import."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from cpms.customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    CustomerKind,
    CustomerStatus,
    CustomFieldType,
    IdentityKind,
    KycStatus,
    RiskRating,
)

MAX_TAGS = 20
MAX_TAG_LENGTH = 40


def _clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("give the tags as a list of text, or as text separated by commas")
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str | int):
            raise ValueError("each tag is text")
        tag = str(item).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


class CustomerData(Schema):
    """A customer as entered. Identifiers are checked by the service (customers.validators)."""

    kind: CustomerKind
    legal_name: str = Field(..., min_length=1, max_length=200)
    identity_kind: IdentityKind
    identity_number: str = Field(..., min_length=1, max_length=64)
    identity_country: str = Field("", max_length=3, description="Passport issuer, ISO 3166.")
    date_of_birth: datetime.date | None = None
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=500)
    branch_id: int | None = Field(None, description="Default: the acting user's branch.")
    relationship_manager_id: int | None = None
    kyc_status: KycStatus = KycStatus.PENDING
    kyc_reviewed_at: datetime.date | None = None
    risk_rating: RiskRating = RiskRating.LOW
    segment: str = Field("", max_length=50)
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Values of the custom fields defined for this kind of customer, by key.",
    )
    confirm_possible_duplicate: bool = Field(
        False,
        description="Register although existing customers look like the same person (the 409 "
        "`customers.possible_duplicate` lists them); needs `duplicate_reason`.",
    )
    duplicate_reason: str = Field(
        "", max_length=500, description="Why this is not the same person as those listed."
    )

    @field_validator(
        "legal_name", "identity_number", "segment", "address", "duplicate_reason", mode="before"
    )
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _clean_tags(value)


class CustomerPatch(Schema):
    """A partial change: only the fields sent are changed. Branch and relationship manager are
    changed here too (recorded as `customer.assigned`); status has its own endpoint."""

    legal_name: str | None = Field(None, min_length=1, max_length=200)
    identity_kind: IdentityKind | None = None
    identity_number: str | None = Field(None, min_length=1, max_length=64)
    identity_country: str | None = Field(None, max_length=3)
    date_of_birth: datetime.date | None = None
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=500)
    branch_id: int | None = None
    relationship_manager_id: int | None = None
    kyc_status: KycStatus | None = None
    kyc_reviewed_at: datetime.date | None = None
    risk_rating: RiskRating | None = None
    segment: str | None = Field(None, max_length=50)
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = Field(
        None,
        description="Custom field values to change, by key; null or an empty string clears one. "
        "Keys not sent are kept.",
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str] | None:
        return None if value is None else _clean_tags(value)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class StatusChangeIn(Schema):
    status: CustomerStatus
    reason: str = Field(..., min_length=1, max_length=500)


class ConsentIn(Schema):
    purpose: ConsentPurpose
    channel: ConsentChannel
    granted_at: datetime.datetime | None = Field(None, description="Default: now.")


class ConsentWithdrawIn(Schema):
    channel: ConsentChannel
    reason: str = Field("", max_length=500)


class DataWarningOut(Schema):
    field: str
    code: str
    message: str


class CustomerOut(Schema):
    """A customer with personal data masked (reveal through /api/v1/privacy/reveal)."""

    id: int
    customer_number: str
    kind: str
    legal_name: str
    name_pinyin: str
    identity_kind: str
    identity_country: str
    identity_number: str
    date_of_birth: datetime.date | None
    phone: str
    email: str
    address: str
    branch_id: int
    relationship_manager_id: int | None
    kyc_status: str
    kyc_reviewed_at: datetime.date | None
    kyc_next_review_at: datetime.date | None
    risk_rating: str
    segment: str
    status: str
    tags: list[str]
    custom_fields: dict[str, Any]
    data_warnings: list[DataWarningOut]
    possible_duplicate_confirmed: bool = Field(
        False, description="Registered after a possible-duplicate warning was confirmed."
    )
    duplicate_reason: str = Field("", description="The reason given with that confirmation.")
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class ConsentOut(Schema):
    id: int
    purpose: str
    channel: str
    granted_at: datetime.datetime
    granted_by_id: int | None
    withdrawn_at: datetime.datetime | None
    withdrawal_channel: str
    is_active: bool


class KycVerificationIn(Schema):
    reason: str = Field("", max_length=500, description="What was checked (shown to approvers).")


class KycVerificationOut(Schema):
    status: str = Field(
        ...,
        description="`pending` (waiting for a second person) or `verified` (no approval "
        "policy: applied at once).",
    )
    approval_request_id: int | None = None
    customer_number: str


class CustomFieldDefinitionIn(Schema):
    """A new custom field for one kind of customer. Kind, key and type are fixed once defined."""

    customer_kind: CustomerKind
    key: str = Field(..., min_length=1, max_length=40, description="Lower-case letters, digits, _.")
    label: str = Field(..., min_length=1, max_length=100)
    help_text: str = Field("", max_length=300)
    field_type: CustomFieldType
    choices: list[str] = Field(default_factory=list, description="Required for type `choice`.")
    required: bool = False
    active: bool = True
    order: int = Field(0, ge=0, le=10_000)


class CustomFieldDefinitionPatch(Schema):
    """A change of a definition: only the fields sent change. Stored values are never rewritten."""

    label: str | None = Field(None, min_length=1, max_length=100)
    help_text: str | None = Field(None, max_length=300)
    choices: list[str] | None = None
    required: bool | None = None
    active: bool | None = None
    order: int | None = Field(None, ge=0, le=10_000)

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self.model_dump(exclude_unset=True).items()}


class CustomFieldDefinitionOut(Schema):
    id: int
    customer_kind: str
    key: str
    label: str
    help_text: str
    field_type: str
    choices: list[str]
    required: bool
    active: bool
    order: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
