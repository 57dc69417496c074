"""API of bulk import and export, mounted at /api/v1/data/.

Imports run as jobs: POST a file to /imports (multipart), then poll /imports/{id} and read
/imports/{id}/errors. Exports stream a CSV or XLSX file of the caller's scope."""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from cpms.access.checks import require_permission
from cpms.core.errors import ValidationFailed
from cpms.core.pagination import CursorPagination
from cpms.dataio import selectors, services
from cpms.dataio.choices import Dataset, FileFormat
from cpms.dataio.schemas import ImportErrorOut, ImportJobOut

router = Router(tags=["dataio"])
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@router.post("/imports", response={202: ImportJobOut}, summary="Start an import job")
def import_submit(
    request: HttpRequest,
    file: File[UploadedFile] = None,
    dataset: Form[str] = "",
    dry_run: Form[bool] = False,
) -> Any:
    """Multipart: `file` (CSV or XLSX), `dataset` (customers, holdings, purchases) and
    `dry_run`. Answers 202 with the job; poll GET /imports/{id} for its progress."""
    require_permission(request.auth, services.IMPORT_PERMISSION)
    errors = {}
    if file is None:
        errors["file"] = _("Attach the file to import.")
    elif file.size and file.size > MAX_UPLOAD_BYTES:
        errors["file"] = _("The file is larger than 200 MB.")
    if dataset not in Dataset.values:
        errors["dataset"] = _("Choose one of: %(names)s.") % {"names": ", ".join(Dataset.values)}
    if errors:
        raise ValidationFailed(fields=errors)
    job = services.import_job_submit(
        actor=request.auth,
        dataset=dataset,
        upload=file,
        dry_run=dry_run,
        language=translation.get_language() or "en",
    )
    return Status(202, selectors.import_job_get_for_user(user=request.auth, pk=job.pk))


@router.get("/imports", response=list[ImportJobOut], summary="My import jobs")
@paginate(CursorPagination, ordering=("-pk",))
def import_list(request: HttpRequest) -> Any:
    require_permission(request.auth, services.IMPORT_PERMISSION)
    return selectors.import_job_list(user=request.auth)


@router.get("/imports/{job_id}", response=ImportJobOut, summary="Status of an import job")
def import_get(request: HttpRequest, job_id: int) -> Any:
    require_permission(request.auth, services.IMPORT_PERMISSION)
    return selectors.import_job_get_for_user(user=request.auth, pk=job_id)


@router.get(
    "/imports/{job_id}/errors",
    response=list[ImportErrorOut],
    summary="Errors of an import job (row, column, message; the first 1,000)",
)
def import_errors(request: HttpRequest, job_id: int) -> Any:
    require_permission(request.auth, services.IMPORT_PERMISSION)
    return selectors.import_job_get_for_user(user=request.auth, pk=job_id).error_rows


class ExportParams(Schema):
    format: FileFormat = FileFormat.CSV
    include_pii: bool = False
    reason: str = ""
    approval_request: int | None = None


@router.get("/exports/{dataset}", summary="Export a dataset (CSV or XLSX, streamed)")
def export(request: HttpRequest, dataset: Dataset, params: Query[ExportParams]) -> Any:
    """Personal data is masked unless `include_pii=true`, which needs pii.reveal, a `reason`
    and, while the `privacy.bulk_export` policy is on, an approved request: without
    `approval_request` the request is submitted and the answer is 409
    `dataio.export_approval_pending` naming it; once approved, ask again with
    `approval_request=<id>` (one download, within 24 hours). Each clear-text export counts
    as one reveal (429 `privacy.rate_limited` when the budget is used up)."""
    require_permission(request.auth, services.EXPORT_PERMISSION)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (streamed)
    services.data_export(
        actor=request.auth,
        dataset=dataset,
        stream=spool,
        file_format=params.format,
        include_pii=params.include_pii,
        reason=params.reason,
        approval_request=params.approval_request,
    )
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{dataset}.{params.format}")
