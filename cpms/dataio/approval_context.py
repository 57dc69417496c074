"""What a checker reads about an export of personal data in clear (`privacy.bulk_export`):
which data set, which format, how many records it holds, and what approving grants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from cpms.approvals.context import ApprovalContext, rows
from cpms.customers.models import Customer
from cpms.dataio.choices import Dataset, FileFormat
from cpms.dataio.services.export import APPROVED_EXPORT_VALID_HOURS
from cpms.holdings.models import Holding


def _record_count(dataset: str) -> str:
    if dataset == Dataset.CUSTOMERS:
        return f"{Customer.objects.count():,}"
    if dataset == Dataset.HOLDINGS:
        return f"{Holding.objects.count():,}"
    return ""


def export_context(payload: Mapping[str, Any], *, viewer: Any) -> ApprovalContext:
    code = str(payload.get("dataset") or "")
    dataset = str(dict(Dataset.choices).get(code, code))
    file_format = str(dict(FileFormat.choices).get(str(payload.get("format") or ""), ""))
    title = _("Export %(dataset)s with personal data in clear (%(format)s)") % {
        "dataset": dataset,
        "format": file_format,
    }
    return ApprovalContext(
        title=title,
        rows=rows(
            (_("Data set"), dataset),
            (_("File format"), file_format),
            (_("Records in the data set (all branches)"), _record_count(code)),
            (
                _("Approving grants"),
                _(
                    "One export by the maker within %(hours)s hours after approval; "
                    "the export is audited."
                )
                % {"hours": APPROVED_EXPORT_VALID_HOURS},
            ),
        ),
        warnings=(_("The file will contain ID numbers, phone numbers and addresses in clear."),),
    )
