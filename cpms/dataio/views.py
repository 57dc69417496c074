"""Console pages of bulk import and export (/data/): start an import job, follow its progress
(HTMX polling), read and download its error report; templates; exports."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from cpms.access.checks import user_has_permission
from cpms.access.console import require_staff
from cpms.core import tabular
from cpms.core.errors import CpmsError, NotFound
from cpms.dataio import selectors, services
from cpms.dataio.choices import Dataset, FileFormat
from cpms.dataio.forms import ExportForm, ImportForm
from cpms.dataio.models import ImportJob

IMPORT = services.IMPORT_PERMISSION
EXPORT = services.EXPORT_PERMISSION


def _job(request: HttpRequest, pk: int) -> ImportJob:
    try:
        return selectors.import_job_get_for_user(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    require_staff(request, IMPORT, EXPORT)
    if not user_has_permission(request.user, IMPORT):
        return redirect("dataio:export")  # the navigation entry serves both
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = services.import_job_submit(
                    actor=request.user,
                    dataset=form.cleaned_data["dataset"],
                    upload=form.cleaned_data["file"],
                    dry_run=form.cleaned_data["dry_run"],
                    language=translation.get_language() or "en",
                )
            except CpmsError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("dataio:job", pk=job.pk)
    jobs = selectors.import_job_list(user=request.user)[:20]
    return render(request, "dataio/import.html", {"form": form, "jobs": jobs})


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require_staff(request, IMPORT)
    job = _job(request, pk)
    partial = bool(request.headers.get("HX-Request"))
    template = "dataio/partials/_job.html" if partial else "dataio/job.html"
    return render(request, template, {"job": job})


@login_required
def job_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """The error report as CSV (row, column, message)."""
    require_staff(request, IMPORT)
    job = _job(request, pk)
    rows: list[list[Any]] = [[_("Row"), _("Column"), _("Message")]]
    rows += [
        [error["row"] if error["row"] is not None else "", error["column"], error["message"]]
        for error in job.error_rows
    ]
    response = HttpResponse(tabular.csv_text(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
def template_download(request: HttpRequest, dataset: str, file_format: str) -> Any:
    require_staff(request, IMPORT)
    if dataset not in Dataset.values or file_format not in FileFormat.values:
        raise Http404
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (streamed)
    try:
        selectors.template_write(dataset=dataset, stream=spool, name=f"x.{file_format}")
    except CpmsError as exc:
        raise Http404 from exc
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{dataset}-template.{file_format}")


@login_required
def export_page(request: HttpRequest) -> Any:
    require_staff(request, EXPORT)
    grants = selectors.export_grants_for_user(user=request.user)
    form = ExportForm(request.POST or None, grants=grants)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data["approval_request"] is not None:
            # An approved request says what it allows: that dataset, that format, in clear.
            grant = next(grant for grant in grants if grant.pk == data["approval_request"])
            data.update(dataset=grant.dataset, format=grant.format, include_pii=True)
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        try:
            services.data_export(
                actor=request.user,
                dataset=data["dataset"],
                stream=spool,
                file_format=data["format"],
                include_pii=data["include_pii"],
                reason=data["reason"],
                approval_request=data["approval_request"],
            )
        except CpmsError as exc:
            messages.error(request, exc.message)
        else:
            spool.seek(0)
            name = f"{data['dataset']}.{data['format']}"
            return FileResponse(spool, as_attachment=True, filename=name)
    return render(request, "dataio/export.html", {"form": form, "grants": grants})
