"""Every write of bulk import and export, by sub-domain:

- `importing`: `data_import`, the all-or-nothing driver (one transaction, report, audit);
- `customers_import`, `holdings_import`, `purchases_import`: reading one dataset's file in
  batches and writing it through the owning app's services (`customers.bulk`,
  `holdings.services`, `retail.services`);
- `export`: `data_export` and the clear-text export approval (`privacy.bulk_export`);
- `jobs`: import jobs queued from the console and the API, run by the worker;
- `_common`: permissions, limits, `ImportReport` and the import's audit entries."""

from cpms.dataio.services._common import (
    BATCH_SIZE,
    EXPORT_OBJECT_TYPE,
    EXPORT_PERMISSION,
    IMPORT_OBJECT_TYPE,
    IMPORT_PERMISSION,
    MAX_COLUMN_CHARS,
    MAX_ERRORS,
    MAX_MESSAGE_CHARS,
    ImportReport,
)
from cpms.dataio.services.export import (
    APPROVED_EXPORT_VALID_HOURS,
    BULK_EXPORT_ACTION,
    data_export,
    export_approval_describe,
    export_approval_execute,
)
from cpms.dataio.services.importing import data_import
from cpms.dataio.services.jobs import import_job_run, import_job_submit

__all__ = [
    "APPROVED_EXPORT_VALID_HOURS",
    "BATCH_SIZE",
    "BULK_EXPORT_ACTION",
    "EXPORT_OBJECT_TYPE",
    "EXPORT_PERMISSION",
    "IMPORT_OBJECT_TYPE",
    "IMPORT_PERMISSION",
    "MAX_COLUMN_CHARS",
    "MAX_ERRORS",
    "MAX_MESSAGE_CHARS",
    "ImportReport",
    "data_export",
    "data_import",
    "export_approval_describe",
    "export_approval_execute",
    "import_job_run",
    "import_job_submit",
]
