"""Input and output shapes of the document store's API."""

from __future__ import annotations

import datetime

from ninja import Field, Schema


class UploadIn(Schema):
    """Form fields of an upload (multipart/form-data, with the file in `file`). Required ones
    are checked by the service so a refusal names the field."""

    customer_id: int | None = Field(None, description="Owner customer (required).")
    title: str | None = Field(None, max_length=200, description="Required.")
    classification: str = Field(
        "internal", description="public, internal, confidential or restricted."
    )
    retention_class: str | None = Field(
        None, description="kyc, contract, correspondence or temporary (required)."
    )
    holding_id: int | None = Field(None, description="Link to this property item of the owner.")


class DocumentPatch(Schema):
    title: str | None = Field(None, max_length=200)
    classification: str | None = None
    retention_class: str | None = None
    reason: str = Field("", max_length=500)


class LinkIn(Schema):
    holding_id: int


class VersionOut(Schema):
    number: int
    original_name: str
    size: int
    content_type: str
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime.datetime
    last_verified_at: datetime.datetime | None
    integrity_status: str


class LinkOut(Schema):
    holding_id: int
    holding_number: str = Field(..., alias="holding.holding_number")
    linked_by_id: int | None
    linked_at: datetime.datetime


class DocumentOut(Schema):
    id: int
    title: str
    customer_id: int
    classification: str
    retention_class: str
    retain_until: datetime.date | None = Field(
        None, alias="retention_ends_on", description="Null while the relationship lasts."
    )
    current_version: VersionOut | None
    created_by_id: int | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class DocumentDetailOut(DocumentOut):
    links: list[LinkOut] = Field(..., description="Property items the document is linked to.")
