"""Reads of bulk import and export: templates, import jobs (each seen by whoever started it,
or by holders of data.import with scope "all")."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from cpms.access.scopes import get_for_user, scoped
from cpms.approvals.choices import ApprovalStatus, DecisionKind
from cpms.approvals.models import ApprovalDecision, ApprovalRequest
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.dataio import customers as customer_dataset
from cpms.dataio import holdings as holding_dataset
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.choices import Dataset
from cpms.dataio.errors import DatasetUnavailable
from cpms.dataio.models import ImportJob
from cpms.dataio.readers import format_for
from cpms.dataio.services import (
    APPROVED_EXPORT_VALID_HOURS,
    BULK_EXPORT_ACTION,
    EXPORT_OBJECT_TYPE,
)
from cpms.dataio.writers import write_table
from cpms.users.models import User

IMPORT_PERMISSION = "data.import"


def actor_by_username(username: str | None) -> User | None:
    """The active user a command acts as (None when there is none by that name)."""
    if not username:
        return None
    return User.objects.filter(username=username, is_active=True).first()


def template_write(*, dataset: str, stream: IO[bytes], name: str) -> None:
    """The accepted headers in the current language and one example row."""
    spec = {
        Dataset.CUSTOMERS: customer_dataset,
        Dataset.HOLDINGS: holding_dataset,
        Dataset.PURCHASES: purchase_dataset,
    }.get(dataset)
    if spec is None:
        raise DatasetUnavailable(
            _("Importing and exporting %(dataset)s is not available yet.")
            % {"dataset": Dataset(dataset).label}
        )
    headers = [column.header() for column in spec.COLUMNS]
    write_table(stream, format_for(name), headers, [spec.example_row()])


def import_job_list(*, user: Any) -> QuerySet[ImportJob]:
    return scoped(ImportJob.objects.all(), user=user, permission=IMPORT_PERMISSION).order_by("-pk")


def import_job_get_for_user(*, user: Any, pk: Any) -> ImportJob:
    return get_for_user(ImportJob.objects.all(), user=user, pk=pk, permission=IMPORT_PERMISSION)


@dataclass(frozen=True)
class ExportGrant:
    """An approved, unused request of the user to export personal data in clear."""

    pk: int
    dataset: str
    format: str
    description: str


def export_grants_for_user(*, user: Any, now: datetime.datetime | None = None) -> list[ExportGrant]:
    """The user's own approved (executed) clear-text export requests that are still valid
    (within APPROVED_EXPORT_VALID_HOURS of their approval) and not used yet, newest first,
    each described in words: what, in which format, approved by whom and when, until when."""
    if getattr(user, "pk", None) is None:
        return []
    now = now or timezone.now()
    valid = datetime.timedelta(hours=APPROVED_EXPORT_VALID_HOURS)
    requests = list(
        ApprovalRequest.objects.filter(
            action=BULK_EXPORT_ACTION,
            maker_id=user.pk,
            status=ApprovalStatus.EXECUTED,
            closed_at__gt=now - valid,
        ).order_by("-closed_at", "-pk")[:50]
    )
    if not requests:
        return []
    ids = [request.pk for request in requests]
    used = {
        value
        for value in AuditEntry.objects.filter(
            action=AuditAction.PII_REVEALED,
            object_type=EXPORT_OBJECT_TYPE,
            after__approval_request__in=ids,
        ).values_list("after__approval_request", flat=True)
    }
    approvers: dict[int, list[str]] = {}
    decisions = (
        ApprovalDecision.objects.filter(request_id__in=ids, decision=DecisionKind.APPROVED)
        .select_related("approver")
        .order_by("decided_at")
    )
    for decision in decisions:
        approvers.setdefault(decision.request_id, []).append(str(decision.approver))
    grants = []
    for request in requests:
        if request.pk in used:
            continue
        dataset = str(request.payload.get("dataset", ""))
        file_format = str(request.payload.get("format", ""))
        description = _(
            "%(dataset)s as %(format)s, every record you may see, personal data in clear; "
            "approved by %(approvers)s on %(approved)s; usable once until %(expires)s. "
            "Reason: %(reason)s"
        ) % {
            "dataset": Dataset(dataset).label if dataset in Dataset.values else dataset,
            "format": file_format.upper(),
            "approvers": ", ".join(approvers.get(request.pk, [])) or "—",
            "approved": _when(request.closed_at),
            "expires": _when(request.closed_at + valid),
            "reason": request.reason[:200],
        }
        grants.append(ExportGrant(request.pk, dataset, file_format, description))
    return grants


def _when(moment: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")
