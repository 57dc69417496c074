"""Import of holdings (property): the same streaming, batching and all-or-nothing rules as
customers; each changed row goes through the property register's own services, which write
their own audit entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from cpms.core.errors import CpmsError
from cpms.dataio import holdings as holding_dataset
from cpms.dataio.choices import RowOutcome
from cpms.dataio.columns import ColumnMap, map_headers
from cpms.dataio.messages import _
from cpms.dataio.readers import open_table
from cpms.dataio.services._common import BATCH_SIZE, ImportReport, natural_key
from cpms.holdings import services as holding_services

# Fields of the register's errors reported under the column the file names them by.
_COLUMN_OF_FIELD = {"value_minor": "value"}


def holdings_import_run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Read, check and (when `apply`, until the first invalid row) write a holdings file."""
    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    run = _HoldingsFile(
        actor, report, map_headers(table.headers, holding_dataset.COLUMNS), apply, progress
    )
    for number, cells in table.rows:
        run.read(number, cells)
    run.flush()
    report.add_no_rows_error()


class _HoldingsFile:
    """One holdings file being read: the natural keys seen so far, the current batch, and
    whether the file is still clean enough to be written."""

    def __init__(
        self,
        actor: Any,
        report: ImportReport,
        columns: ColumnMap,
        apply: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.actor = actor
        self.report = report
        self.columns = columns
        self.progress = progress
        self.lookup = holding_dataset.kind_lookup()
        self.seen: dict[int, int] = {}
        self.batch: list[holding_dataset.Row] = []
        self.writing = apply

    def read(self, number: int, cells: list[Any]) -> None:
        """Check one row; a valid row met for the first time joins the batch."""
        report, columns = self.report, self.columns
        report.rows += 1
        row, errors = holding_dataset.check_row(self.lookup, number, columns.values(cells))
        for name, message in errors.items():
            report.add_error(number, columns.header_for(name), message, field=name)
        if row is None:
            return
        key = natural_key(f"{row.customer_number}\x1f{row.kind}\x1f{row.identifier}")
        if key in self.seen:
            report.add_error(
                number,
                columns.header_for("identifier"),
                _("The same property is on row %(row)s.") % {"row": self.seen[key]},
            )
            return
        self.seen[key] = number
        self.batch.append(row)
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Plan the batch against the register, count the outcomes and, while no row of the
        file was invalid, write each changed row (a refusal by the register stops writing)."""
        report = self.report
        plans, errors = holding_dataset.plan_batch(self.actor, self.batch)
        for number, name, message in errors:
            report.add_error(number, self.columns.header_for(name), message, field=name)
        if report.error_count:
            self.writing = False
        for plan in plans:
            setattr(report, plan.outcome, getattr(report, plan.outcome) + 1)
            if self.writing and plan.outcome != RowOutcome.UNCHANGED:
                try:
                    holding_write(self.actor, plan)
                except CpmsError as exc:
                    self.writing = False
                    self.refused(plan, exc)
        self.batch.clear()
        if self.progress is not None:
            self.progress(report.rows)

    def refused(self, plan: holding_dataset.Plan, exc: CpmsError) -> None:
        """The register's refusal of a row, one error per field it names."""
        for name, message in (exc.fields or {"": exc.message}).items():
            column = _COLUMN_OF_FIELD.get(name.split(".")[0], name)
            self.report.add_error(plan.row.number, self.columns.header_for(column), message)


def holding_write(actor: Any, plan: holding_dataset.Plan) -> None:
    """Register a new holding, or update and revalue an existing one, through the property
    register's services."""
    given = plan.row.given
    if plan.holding is None:
        holding_services.holding_register(
            actor=actor,
            customer=plan.customer_id,
            kind=plan.row.kind,
            identifier=plan.row.identifier,
            description=given.get("description", ""),
            value_minor=given.get("value_minor"),
            currency=given.get("currency", "CNY"),
            valued_on=given.get("valued_on"),
            location=given.get("location", ""),
        )
        return
    if plan.update:
        holding_services.holding_update(actor=actor, holding=plan.holding, data=plan.update)
    if plan.revalue:
        holding_services.holding_revalue(
            actor=actor,
            holding=plan.holding,
            value_minor=given["value_minor"],
            currency=given.get("currency", plan.holding.currency),
            valued_on=given["valued_on"],
            source="import",
        )
