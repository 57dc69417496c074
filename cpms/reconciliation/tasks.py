"""Scheduled job: record the daily reconciliation report (as the system)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cpms.reconciliation import services


@db_periodic_task(crontab(minute="30", hour="6"))
def reconciliation_report_daily() -> int:
    return services.report_write(actor=None).pk
