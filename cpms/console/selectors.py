"""Cross-domain reads for the console dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from cpms.core.selectors import heartbeat_get
from cpms.users.choices import Role
from cpms.users.models import ApiToken, Branch, User


@dataclass(frozen=True)
class DashboardCounts:
    staff: int
    branches: int
    roles: int
    active_tokens: int
    scheduler_beat_at: datetime | None
    measured_at: datetime


def dashboard_counts(*, user: User) -> DashboardCounts:
    now = timezone.now()
    heartbeat = heartbeat_get()
    return DashboardCounts(
        staff=User.objects.filter(is_staff=True, is_active=True).count(),
        branches=Branch.objects.filter(is_active=True).count(),
        roles=len(Role.values),
        active_tokens=ApiToken.objects.filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count(),
        scheduler_beat_at=heartbeat.beat_at if heartbeat else None,
        measured_at=now,
    )
