"""Output shapes of notifications."""

from __future__ import annotations

import datetime

from ninja import Schema


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    customer_id: int | None
    related_type: str
    related_id: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None
