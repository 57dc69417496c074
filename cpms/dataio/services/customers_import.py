"""Import of customers: rows validated and matched by `dataio.customers`, written batch by
batch through the registry's bulk services (`customers.bulk`) while the file is still clean."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import IO, Any

from django.utils import timezone

from cpms.core.errors import Conflict
from cpms.customers.bulk import (
    CustomerChange,
    NewCustomer,
    customers_bulk_create,
    customers_bulk_update,
)
from cpms.customers.errors import DuplicateIdentity
from cpms.dataio import customers as customer_dataset
from cpms.dataio.choices import RowOutcome
from cpms.dataio.columns import ColumnMap, map_headers
from cpms.dataio.customer_columns import IDENTITY_ORDER
from cpms.dataio.messages import _
from cpms.dataio.readers import open_table
from cpms.dataio.services._common import BATCH_SIZE, ImportReport
from cpms.privacy.protected import blind_root_or_none
from cpms.privacy.services import blind_index_root

PROGRESS_EVERY = 250  # rows between two progress updates of a job's checking pass
# Row fields reported under the column the file names them by.
_COLUMN_OF_FIELD = {"branch_id": "branch", "relationship_manager_id": "relationship_manager"}


def customers_import_run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Read, check and (when `apply`, until the first invalid row) write a customers file.
    A dry run looks keys up with the real blind-index root when there is one, else with a
    random root under which nothing matches (and none is created)."""
    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    columns = map_headers(table.headers, customer_dataset.COLUMNS)
    if apply:
        root = blind_index_root(actor=actor)
    else:
        root = blind_root_or_none() or secrets.token_bytes(32)  # nothing matches an unknown root
    context = customer_dataset.context_for(actor, root=root)
    run = _CustomersFile(actor, report, columns, context, apply=apply, progress=progress)
    for number, cells in table.rows:
        run.read(number, cells)
    if run.batch or progress is not None:
        run.flush()
    report.add_no_rows_error()


class _CustomersFile:
    """One customers file being read: the natural keys seen so far, the current batch, and
    whether the file is still clean enough to be written."""

    def __init__(
        self,
        actor: Any,
        report: ImportReport,
        columns: ColumnMap,
        context: customer_dataset.Context,
        *,
        apply: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.actor = actor
        self.report = report
        self.columns = columns
        self.context = context
        self.progress = progress
        self.reason = f"import sha256:{report.sha256[:16]}"
        self.seen_keys: dict[int, int] = {}
        self.seen_numbers: dict[str, int] = {}
        self.batch: list[customer_dataset.Row] = []
        self.writing = apply

    def error(self, number: int | None, name: str, message: Any) -> None:
        column = _COLUMN_OF_FIELD.get(name, name)
        self.report.add_error(number, self.columns.header_for(column), message, field=column)

    def read(self, number: int, cells: list[Any]) -> None:
        """Check one row; a valid row met for the first time joins the batch."""
        report, columns = self.report, self.columns
        report.rows += 1
        if self.progress is not None and report.rows % PROGRESS_EVERY == 0:
            self.progress(report.rows)
        row, errors = customer_dataset.check_row(self.context, number, columns.values(cells))
        if len(cells) > columns.width and any(str(cell).strip() for cell in cells[columns.width :]):
            report.add_error(number, "", _("The row has more cells than the header row."))
            row = None
        for name, message in errors.items():
            self.error(number, name, message)
        if row is None or not self.first_time(row):
            return
        self.batch.append(row)
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def first_time(self, row: customer_dataset.Row) -> bool:
        """Duplicate natural keys inside one file are errors (the second and later rows)."""
        if row.customer_number:
            duplicate_of = self.seen_numbers.get(row.customer_number)
            if duplicate_of is not None:
                self.error(
                    row.number,
                    "customer_number",
                    _("The same customer number is on row %(row)s.") % {"row": duplicate_of},
                )
                return False
            self.seen_numbers[row.customer_number] = row.number
        if row.key_index:
            kind = IDENTITY_ORDER.get(row.given["identity_kind"], 0)
            key = (int(row.key_index[:24], 16) << 3) | kind
            duplicate_of = self.seen_keys.get(key)
            if duplicate_of is not None:
                self.error(
                    row.number,
                    "identity_number",
                    _("The same identity document is on row %(row)s.") % {"row": duplicate_of},
                )
                return False
            self.seen_keys[key] = row.number
        return True

    def flush(self) -> None:
        """Plan the batch against the register, count the outcomes and, while no row of the
        file was invalid, write it."""
        report = self.report
        plans, errors = customer_dataset.plan_batch(self.context, self.batch)
        for number, name, message in errors:
            self.error(number, name, message)
        if report.error_count:
            self.writing = False
        for plan in plans:
            if plan.outcome == RowOutcome.CREATED:
                report.created += 1
            elif plan.outcome == RowOutcome.UPDATED:
                report.updated += 1
            else:
                report.unchanged += 1
        if self.writing:
            customers_write(self.actor, self.context, plans, reason=self.reason)
        self.batch.clear()
        if self.progress is not None:
            self.progress(report.rows)


def customers_write(
    actor: Any,
    context: customer_dataset.Context,
    plans: list[customer_dataset.Plan],
    *,
    reason: str,
) -> None:
    """Create and update one batch of customers through the registry's bulk services (inside
    the import's transaction). A document claimed meanwhile by a registration fails the whole
    import, with a message that says what to do."""
    now = timezone.now()
    creates = [
        NewCustomer(values=plan.values, pii=plan.pii, warnings=plan.row.warnings)
        for plan in plans
        if plan.outcome == RowOutcome.CREATED
    ]
    updates = [
        CustomerChange(
            customer=plan.customer,
            values=plan.values,
            pii=plan.pii,
            before_pii=plan.before_pii,
            changed=plan.changed,
            warnings=plan.row.warnings,
        )
        for plan in plans
        if plan.outcome == RowOutcome.UPDATED and plan.customer is not None
    ]
    if creates:
        try:
            customers_bulk_create(actor=actor, rows=creates, keys=context, reason=reason, now=now)
        except DuplicateIdentity:
            raise Conflict(
                _(
                    "A customer with one of these identity documents was registered while the "
                    "file was being imported; import the file again to update that customer "
                    "instead."
                ),
                code="customers.duplicate_identity",
            ) from None
    if updates:
        customers_bulk_update(actor=actor, rows=updates, keys=context, reason=reason, now=now)
