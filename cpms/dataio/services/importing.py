"""`data_import`: one file read once, streaming, in batches; each batch is validated (field
rules), matched with the register by natural key (scope checked) and, while the file is still
clean, applied — all inside ONE transaction. The first invalid row stops all writing; the rest
of the file is still validated so the report lists every error, and the transaction is rolled
back: all or nothing. A dry run validates and classifies without writing.

Memory stays bounded: only the natural keys seen so far (as 96-bit integers, for duplicate
detection), one batch of rows and at most MAX_ERRORS error details are held."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any

from django.db import transaction
from django.utils import translation

from cpms.access.checks import require_permission
from cpms.dataio.choices import Dataset
from cpms.dataio.errors import FileRefused
from cpms.dataio.messages import _
from cpms.dataio.models import ImportJob
from cpms.dataio.services._common import (
    DOMAIN_PERMISSIONS,
    IMPORT_PERMISSION,
    ImportReport,
    file_digest,
    import_audit_applied,
    import_audit_rejected,
    require_dataset,
)
from cpms.dataio.services.customers_import import customers_import_run
from cpms.dataio.services.holdings_import import holdings_import_run
from cpms.dataio.services.purchases_import import purchases_import_run

_RUNS = {
    Dataset.CUSTOMERS: customers_import_run,
    Dataset.HOLDINGS: holdings_import_run,
    Dataset.PURCHASES: purchases_import_run,
}


class _Refused(Exception):
    """Rolls the import's transaction back once the file turned out invalid."""


def data_import(
    *,
    actor: Any,
    dataset: str,
    stream: IO[bytes],
    filename: str = "",
    dry_run: bool = False,
    language: str | None = None,
    progress: Callable[[int], None] | None = None,
    job: ImportJob | None = None,
) -> ImportReport:
    """Import a CSV or XLSX file (a seekable binary stream). Returns the report; the file is
    accepted (and, unless a dry run, applied) only when every row is valid. Refusals are
    audited (`data.import_rejected`), applied imports write one entry per created or updated
    row (the domain's own action) plus the summary `data.imported` with the file's SHA-256."""
    require_permission(actor, IMPORT_PERMISSION)
    require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][0])
    run = _RUNS[dataset]
    with translation.override(language or translation.get_language()):
        report = ImportReport(dataset=dataset, filename=filename, dry_run=dry_run)
        started = time.perf_counter()
        report.sha256, report.size = file_digest(stream)
        try:
            if dry_run:
                run(actor, report, stream, apply=False, progress=progress)
            else:
                with transaction.atomic():
                    run(actor, report, stream, apply=True, progress=progress)
                    if report.error_count:
                        raise _Refused()
                    import_audit_applied(actor, report, job)
        except FileRefused as exc:
            report.set_message(exc.parts[0] if len(exc.parts) == 1 else exc.message)
            for part in exc.parts:
                report.add_error(None, "", part)
        except _Refused:
            pass
        _conclude(actor, report, job)
        report.seconds = time.perf_counter() - started
    return report


def _conclude(actor: Any, report: ImportReport, job: ImportJob | None) -> None:
    """Accepted or refused, with the summary message; a refused file counts nothing as
    written and (unless a dry run) is audited."""
    report.accepted = report.error_count == 0
    if report.accepted:
        report.set_message(
            _("Dry run: the file is valid; nothing was written.")
            if report.dry_run
            else _("The file was imported.")
        )
        return
    report.created = report.updated = report.unchanged = 0
    if not report.message:
        report.set_message(
            _("The file was refused: %(count)s errors. Nothing was written.")
            % {"count": report.error_count}
        )
    if not report.dry_run:
        import_audit_rejected(actor, report, job)
