"""Datasets, file formats and job states of bulk import and export."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cpms.core.transitions import StateMachine


class Dataset(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    HOLDINGS = "holdings", _("Property")
    PURCHASES = "purchases", _("Purchases")


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    FAILED = "failed", _("Failed")


# A job is queued, run once by the worker, and ends accepted, refused or failed for good.
JOB_STATES = StateMachine.from_targets(
    "import job",
    {
        JobStatus.QUEUED: (JobStatus.RUNNING,),
        JobStatus.RUNNING: (JobStatus.ACCEPTED, JobStatus.REFUSED, JobStatus.FAILED),
    },
)


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    UNCHANGED = "unchanged", _("Unchanged")
