"""Input and output shapes of the data-quality API. Personal data is masked."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ninja import Field, Schema


class CustomerBrief(Schema):
    """One side of a pair, personal data masked."""

    id: int
    customer_number: str
    kind: str
    legal_name: str
    name_pinyin: str
    date_of_birth: datetime.date | None
    identity_kind: str
    identity_number: str
    phone: str
    email: str
    address: str
    branch_id: int
    relationship_manager_id: int | None
    kyc_status: str
    status: str
    completeness: int


class CandidateOut(Schema):
    id: int
    customer_a: CustomerBrief
    customer_b: CustomerBrief
    reasons: list[str]
    name_similarity: int = Field(..., description="Percent, 0-100.")
    score: int
    status: str
    first_found_at: datetime.datetime
    decided_at: datetime.datetime | None
    decided_by_id: int | None
    decision_reason: str
    survivor_id: int | None
    approval_request_id: int | None


class CandidatePage(Schema):
    items: list[CandidateOut]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )


class DismissIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class MergeIn(Schema):
    survivor_id: int = Field(..., description="The customer that stays (one of the pair).")
    reason: str = Field(..., min_length=1, max_length=2000)


class MergeRequestOut(Schema):
    candidate_id: int
    status: str
    approval_request_id: int | None = Field(
        None, description="The pending maker-checker request (when approval is required)."
    )
    merge_id: int | None = Field(None, description="The merge, when it ran at once.")


class ScanOut(Schema):
    customers: int
    flagged: int
    refreshed: int
    skipped_blocks: int


class CompletenessRow(Schema):
    id: int
    customer_number: str
    legal_name: str
    kind: str
    branch_id: int
    relationship_manager_id: int | None
    completeness: int


class CompletenessItem(Schema):
    element: str
    points: int
    present: bool


class CompletenessOut(Schema):
    customer_id: int
    score: int
    elements: list[CompletenessItem]


class StaleRow(Schema):
    id: int
    customer_number: str
    legal_name: str
    status: str
    branch_id: int
    relationship_manager_id: int | None
    updated_at: datetime.datetime
    kyc_next_review_at: datetime.date | None
    reasons: list[str]


class SummaryOut(Schema):
    day: datetime.date
    customers: int
    average_completeness: Decimal
    open_duplicates: int
    stale: int
    per_branch: dict
    written_at: datetime.datetime


class OverviewOut(Schema):
    customers: int
    average_completeness: float
    open_duplicates: int
    stale: int


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    candidate_id: int | None
    approval_request_id: int | None
    moved: dict
    resolutions: list
    filled: list
    requested_by_id: int
    merged_at: datetime.datetime
