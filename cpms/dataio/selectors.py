"""Reads of bulk import and export: templates, import jobs (each seen by whoever started it,
or by holders of data.import with scope "all")."""

from __future__ import annotations

from typing import IO, Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cpms.access.scopes import get_for_user, scoped
from cpms.dataio import customers as customer_dataset
from cpms.dataio import holdings as holding_dataset
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.choices import Dataset
from cpms.dataio.errors import DatasetUnavailable
from cpms.dataio.models import ImportJob
from cpms.dataio.readers import format_for
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
