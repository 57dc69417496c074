"""Shapes of the bulk import and export API."""

from __future__ import annotations

import datetime
from typing import Any

from ninja import Schema


class ImportErrorOut(Schema):
    # One stored problem; `message` is rendered in the language of the request.
    row: int | None
    column: str
    message: str


class ImportJobOut(Schema):
    id: int
    dataset: str
    original_name: str
    sha256: str
    size: int
    dry_run: bool
    status: str
    finished: bool
    rows_read: int
    created_count: int
    updated_count: int
    unchanged_count: int
    error_count: int
    message: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None

    @staticmethod
    def resolve_message(obj: Any) -> str:
        """The outcome in the language of the request (stored as a code, see
        `cpms.dataio.messages`)."""
        return obj.summary_text
