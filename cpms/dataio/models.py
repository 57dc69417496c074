"""Import jobs started from the console or the API (the CLI imports in the foreground)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.dataio.choices import Dataset, JobStatus


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    dataset = models.CharField(_("dataset"), max_length=16, choices=Dataset.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.BigIntegerField(_("size in bytes"), default=0)
    dry_run = models.BooleanField(_("dry run"), default=False)
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    # Progress: rows in the file (counted before checking), rows checked so far, rows written.
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    # [{row, field, column, code, params} or {..., text}]: see cpms.dataio.messages; rendered
    # in the reader's language. Entries stored before codes existed have "message" instead.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)  # in the language of the import
    summary = models.JSONField(_("summary"), default=dict, blank=True)  # `message` as a code
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        indexes = [models.Index(fields=["created_by", "-id"], name="dataio_job_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="dataio_job_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_dataset_display()} {self.original_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.ACCEPTED, JobStatus.REFUSED, JobStatus.FAILED)

    @property
    def summary_text(self) -> str:
        """The outcome in the active language (the stored text for older jobs)."""
        from cpms.dataio.messages import render

        return render(self.summary) if self.summary else self.message

    @property
    def error_rows(self) -> list[dict[str, Any]]:
        """The stored errors with their message in the active language."""
        from cpms.dataio.messages import rendered_errors

        return rendered_errors(self.errors)

    @property
    def writing(self) -> bool:
        """Checked, and the writing pass is running."""
        return (
            self.status == JobStatus.RUNNING
            and not self.dry_run
            and self.rows_total > 0
            and self.rows_read >= self.rows_total
        )

    @property
    def percent(self) -> int:
        """How far the job is, 0 to 100 (checking is the first half unless a dry run)."""
        if self.finished:
            return 100
        if not self.rows_total:
            return 0
        checked = min(self.rows_read, self.rows_total) / self.rows_total
        return int(checked * 100) if self.dry_run else int(checked * 50)
