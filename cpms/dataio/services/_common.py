"""What every import and export service shares: permissions and object types, limits, the
import report, the dataset check and the audit entries of an import's outcome."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.db import transaction

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.customers.models import MANAGE_PERMISSION as CUSTOMERS_MANAGE
from cpms.customers.models import VIEW_PERMISSION as CUSTOMERS_VIEW
from cpms.dataio import holdings as holding_dataset
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.choices import Dataset
from cpms.dataio.errors import DatasetUnavailable
from cpms.dataio.messages import _, coded, problem
from cpms.dataio.models import ImportJob

IMPORT_PERMISSION = "data.import"
EXPORT_PERMISSION = "data.export"
IMPORT_OBJECT_TYPE = "dataio.import"
EXPORT_OBJECT_TYPE = "dataio.export"
BATCH_SIZE = 1000
MAX_ERRORS = 1000
# Stored messages and column names are cut to these lengths: a refused header of a million
# characters must not be stored (or shown) a million characters long.
MAX_MESSAGE_CHARS = 1000
MAX_COLUMN_CHARS = 200

DOMAIN_PERMISSIONS = {
    Dataset.CUSTOMERS: (CUSTOMERS_MANAGE, CUSTOMERS_VIEW),
    Dataset.HOLDINGS: (holding_dataset.MANAGE_PERMISSION, holding_dataset.VIEW_PERMISSION),
    Dataset.PURCHASES: (purchase_dataset.MANAGE_PERMISSION, purchase_dataset.VIEW_PERMISSION),
}


def short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to at most `limit` characters (an ellipsis marks the cut)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class ImportReport:
    dataset: str
    filename: str = ""
    sha256: str = ""
    size: int = 0
    format: str = ""
    encoding: str = ""
    dry_run: bool = False
    accepted: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    # row, field, column, code + params (or text) and message (in the writer's language)
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    summary: dict[str, Any] = field(default_factory=dict)  # `message` as code + params
    seconds: float = 0.0

    def add_error(
        self, row: int | None, column: str, message: Any, *, field: str = "", reason: str = ""
    ) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            entry = problem(row, field, short(column, MAX_COLUMN_CHARS), message, reason=reason)
            entry["message"] = short(str(message))
            self.errors.append(entry)

    def add_no_rows_error(self) -> None:
        """A file with a header row and nothing under it is refused."""
        if self.rows == 0:
            self.add_error(None, "", _("The file has a header row but no data rows."))

    def set_message(self, message: Any) -> None:
        self.message = short(str(message))
        self.summary = coded(message)

    def stored_errors(self) -> list[dict[str, Any]]:
        """The errors as an import job stores them: codes and parameters, no text in the
        writer's language unless a message has no code."""
        return [{k: v for k, v in entry.items() if k != "message"} for entry in self.errors]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.error_count,
        }


def natural_key(text: str) -> int:
    """A natural key as a 96-bit integer: what an import remembers of each row to find
    duplicates inside one file, so memory stays small however long the file."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:12], "big")


def require_dataset(dataset: str) -> None:
    if dataset not in DOMAIN_PERMISSIONS:
        raise DatasetUnavailable(
            _("Importing and exporting %(dataset)s is not available yet.")
            % {"dataset": Dataset(dataset).label if dataset in Dataset.values else dataset}
        )


def file_digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of a seekable stream, read in chunks; the stream is rewound."""
    stream.seek(0)
    digest = hashlib.file_digest(stream, "sha256")  # type: ignore[arg-type]
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return digest.hexdigest(), size


def import_audit_applied(actor: Any, report: ImportReport, job: ImportJob | None) -> None:
    """`data.imported`, inside the import's transaction: the file's SHA-256 and the counts."""
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT_APPLIED,
        object_type=IMPORT_OBJECT_TYPE,
        object_id=job.pk if job is not None else report.sha256[:16],
        after={
            "dataset": report.dataset,
            "file_name": report.filename,
            "sha256": report.sha256,
            "size": report.size,
            "format": report.format,
            **report.counts,
        },
    )


def import_audit_rejected(actor: Any, report: ImportReport, job: ImportJob | None) -> None:
    """`data.import_rejected`, in its own transaction (the import's was rolled back)."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT_REJECTED,
            object_type=IMPORT_OBJECT_TYPE,
            object_id=job.pk if job is not None else report.sha256[:16],
            after={
                "dataset": report.dataset,
                "file_name": report.filename,
                "sha256": report.sha256,
                "size": report.size,
                "rows": report.rows,
                "errors": report.error_count,
                "message": report.message[:500],
            },
        )
