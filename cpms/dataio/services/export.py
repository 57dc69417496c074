"""`data_export`: a scoped dataset written as CSV or XLSX, personal data masked unless the
clear-text rule allows it (pii.reveal, a reason, an approved `privacy.bulk_export` request when
its policy is enabled, one reveal of the actor's budget); and the approval operation itself."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import IO, Any

from django.db import transaction
from django.utils import timezone, translation

from cpms.access.checks import require_permission, user_has_permission
from cpms.access.scopes import scoped
from cpms.approvals.choices import ApprovalStatus
from cpms.approvals.models import ApprovalRequest
from cpms.approvals.services import approval_required, approval_submit
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.audit.services import audit_record
from cpms.core.errors import PermissionDenied
from cpms.customers.models import VIEW_PERMISSION as CUSTOMERS_VIEW
from cpms.customers.models import Customer
from cpms.dataio import customers as customer_dataset
from cpms.dataio import holdings as holding_dataset
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.choices import Dataset
from cpms.dataio.errors import ExportApprovalPending, ExportNotApproved
from cpms.dataio.messages import _
from cpms.dataio.services._common import (
    DOMAIN_PERMISSIONS,
    EXPORT_OBJECT_TYPE,
    EXPORT_PERMISSION,
    require_dataset,
)
from cpms.dataio.writers import write_table
from cpms.holdings.models import Holding
from cpms.privacy.errors import RateLimited, ReasonRequired
from cpms.privacy.protected import blind_root_or_none
from cpms.privacy.services import (
    REVEAL_PERMISSION,
    REVEAL_REASON_MIN_LENGTH,
    reveal_budget_charge,
)
from cpms.retail.models import Purchase

BULK_EXPORT_ACTION = "privacy.bulk_export"
APPROVED_EXPORT_VALID_HOURS = 24


def data_export(
    *,
    actor: Any,
    dataset: str,
    stream: IO[bytes],
    file_format: str,
    include_pii: bool = False,
    language: str | None = None,
    reason: str = "",
    approval_request: Any = None,
) -> int:
    """Write the actor's customers (scoped) to `stream` as CSV or XLSX; personal data masked
    unless `include_pii`, which needs pii.reveal, a reason, an approved `privacy.bulk_export`
    request (when its policy is enabled; without one, a request is submitted and
    `ExportApprovalPending` raised) and one reveal of the actor's budget
    (`privacy.rate_limited` once used up). Audited (`data.exported`) with the count."""
    require_permission(actor, EXPORT_PERMISSION)
    require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][1])
    approval_id = None
    if include_pii:
        approval_id, reason = _clear_export_allowed(
            actor,
            dataset=dataset,
            file_format=file_format,
            reason=reason,
            approval_request=approval_request,
        )
    with translation.override(language or translation.get_language()):
        headers, rows = _export_table(actor, dataset, include_pii=include_pii)
        count = write_table(stream, file_format, headers, rows)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT_WRITTEN,
            object_type=EXPORT_OBJECT_TYPE,
            object_id=dataset,
            after={
                "dataset": dataset,
                "format": file_format,
                "count": count,
                "include_pii": include_pii,
                "approval_request": approval_id,
            },
            reason=reason if include_pii else "",
        )
    return count


def _export_table(
    actor: Any, dataset: str, *, include_pii: bool
) -> tuple[list[str], Iterable[list[Any]]]:
    """The dataset's headers (in the active language) and its rows, scoped to the actor and
    read lazily in batches while they are written."""
    if dataset == Dataset.CUSTOMERS:
        context = customer_dataset.context_for(actor, root=blind_root_or_none())
        customers = scoped(Customer.objects.all(), user=actor, permission=CUSTOMERS_VIEW)
        headers = [column.header() for column in customer_dataset.COLUMNS]
        return headers, customer_dataset.export_rows(context, customers, include_pii=include_pii)
    if dataset == Dataset.PURCHASES:
        purchases = scoped(
            Purchase.objects.all(), user=actor, permission=purchase_dataset.VIEW_PERMISSION
        )
        headers = [column.header() for column in purchase_dataset.COLUMNS]
        return headers, purchase_dataset.export_rows(purchases)
    holdings = scoped(Holding.objects.all(), user=actor, permission=holding_dataset.VIEW_PERMISSION)
    headers = [column.header() for column in holding_dataset.COLUMNS]
    return headers, holding_dataset.export_rows(holdings)


# --- the clear-text export approval ----------------------------------------------------------


def export_approval_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """The approved operation: a grant the maker uses once, within a day, to download the
    export (`data_export(..., approval_request=id)`)."""
    return {"granted": True, **{key: request.payload.get(key) for key in ("dataset", "format")}}


def export_approval_describe(payload: Any) -> str:
    dataset = str(payload.get("dataset", ""))
    return _("Export %(dataset)s with personal data in clear (%(format)s)") % {
        "dataset": Dataset(dataset).label if dataset in Dataset.values else dataset,
        "format": str(payload.get("format", "")).upper(),
    }


def _export_refused(actor: Any, dataset: str, code: str, reason: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.PII_REVEAL_REFUSED,
            object_type=EXPORT_OBJECT_TYPE,
            object_id=dataset,
            after={"field": "*", "refusal": code},
            reason=reason,
        )


def _approved_request(actor: Any, pk: Any, *, dataset: str, file_format: str) -> Any:
    """The actor's executed export request `pk` for this dataset and format, still within its
    validity; ExportNotApproved otherwise."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise ExportNotApproved(
            fields={"approval_request": _("Give the request number.")}
        ) from None
    request = ApprovalRequest.objects.filter(
        pk=number, action=BULK_EXPORT_ACTION, maker_id=actor.pk, status=ApprovalStatus.EXECUTED
    ).first()
    valid_until = (
        request.closed_at + datetime.timedelta(hours=APPROVED_EXPORT_VALID_HOURS)
        if request is not None and request.closed_at is not None
        else None
    )
    if (
        request is None
        or request.payload.get("dataset") != dataset
        or request.payload.get("format") != file_format
        or valid_until is None
        or valid_until < timezone.now()
    ):
        raise ExportNotApproved()
    return request


def _clear_export_allowed(
    actor: Any, *, dataset: str, file_format: str, reason: str, approval_request: Any
) -> tuple[int | None, str]:
    """Check (and charge) a clear-text export; returns the approval request used and the
    reason. Every refusal is audited (`pii.reveal_refused`)."""
    reason = (reason or "").strip()
    if not user_has_permission(actor, REVEAL_PERMISSION):
        _export_refused(actor, dataset, PermissionDenied.code, reason)
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    request = None
    if approval_request in (None, "") and len(reason) < REVEAL_REASON_MIN_LENGTH:
        _export_refused(actor, dataset, ReasonRequired.code, reason)
        raise ReasonRequired(fields={"reason": _("At least 5 characters.")})
    if approval_required(BULK_EXPORT_ACTION):
        request = _export_approval(
            actor,
            dataset=dataset,
            file_format=file_format,
            reason=reason,
            approval_request=approval_request,
        )
        reason = reason or request.reason
    approval_id = request.pk if request is not None else None
    _export_reveal_charge(
        actor, dataset=dataset, file_format=file_format, reason=reason, approval_id=approval_id
    )
    return approval_id, reason


def _export_approval(
    actor: Any, *, dataset: str, file_format: str, reason: str, approval_request: Any
) -> Any:
    """The approved request the export uses. Without one, a request is submitted to a checker
    and ExportApprovalPending raised (with its number); a wrong one is refused and audited."""
    if approval_request in (None, ""):
        submission = approval_submit(
            actor=actor,
            action=BULK_EXPORT_ACTION,
            payload={"dataset": dataset, "format": file_format},
            object_type=EXPORT_OBJECT_TYPE,
            object_id=dataset,
            reason=reason,
        )
        assert submission.request is not None
        raise ExportApprovalPending(
            _(
                "Exporting personal data in clear needs approval: your request was sent "
                "to a checker. Once it is approved, choose it under “Approved request” on "
                "the export page and download again."
            ),
            fields={"approval_request": str(submission.request.pk)},
        )
    try:
        return _approved_request(actor, approval_request, dataset=dataset, file_format=file_format)
    except ExportNotApproved:
        _export_refused(actor, dataset, ExportNotApproved.code, reason)
        raise


def _export_reveal_charge(
    actor: Any, *, dataset: str, file_format: str, reason: str, approval_id: int | None
) -> None:
    """Charge one reveal of the actor's budget; an approval is good for one download only.
    Refusals (budget used up, approval used already) are audited."""
    try:
        with transaction.atomic():
            reveal_budget_charge(
                actor=actor,
                object_type=EXPORT_OBJECT_TYPE,
                object_id=dataset,
                reason=reason,
                details={
                    "dataset": dataset,
                    "format": file_format,
                    "approval_request": approval_id,
                },
            )
            if approval_id is not None and (
                AuditEntry.objects.filter(
                    action=AuditAction.PII_REVEALED,
                    object_type=EXPORT_OBJECT_TYPE,
                    after__approval_request=approval_id,
                ).count()
                > 1
            ):
                raise ExportNotApproved()  # already used: one download per approval
    except (RateLimited, ExportNotApproved) as exc:
        _export_refused(actor, dataset, exc.code, reason)
        raise
