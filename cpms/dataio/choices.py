"""Datasets, file formats and job states of bulk import and export."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    UNCHANGED = "unchanged", _("Unchanged")
