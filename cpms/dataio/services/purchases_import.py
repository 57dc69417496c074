"""Import of purchases: consecutive rows with the same receipt number are one purchase,
recorded through `retail.services.purchase_record` (its validation, scope and audit entry).
Every purchase is tried inside the import's own transaction; a dry run rolls it all back."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from django.db import transaction

from cpms.core.errors import CpmsError
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.columns import ColumnMap, map_headers
from cpms.dataio.messages import _
from cpms.dataio.readers import open_table
from cpms.dataio.services._common import BATCH_SIZE, ImportReport, natural_key
from cpms.retail import services as retail_services
from cpms.retail.models import Purchase

# Fields of the retail service's errors reported under the column the file names them by.
_PURCHASE_COLUMNS = {
    "unit_amount_minor": "unit_price",
    "amount_minor": "amount",
    "total_minor": "amount",
    "customer_id": "customer_number",
}
# Purchases recorded per flush (each is several lines).
_PURCHASES_PER_FLUSH = BATCH_SIZE // 4

# One purchase being read: the row numbers of its lines and the lines.
Group = tuple[list[int], list[dict[str, Any]]]


def purchases_import_run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Read, check and record a purchases file; rolled back unless `apply` and clean."""
    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    run = _PurchasesFile(
        actor, report, map_headers(table.headers, purchase_dataset.COLUMNS), progress
    )
    with transaction.atomic():
        for number, cells in table.rows:
            run.read(number, cells)
        run.close()
        run.flush()
        if not apply or report.error_count:
            transaction.set_rollback(True)
    report.add_no_rows_error()


class _PurchasesFile:
    """One purchases file being read: the receipt numbers seen so far, the purchase being
    gathered (`group`) and the purchases waiting to be recorded (`pending`)."""

    def __init__(
        self,
        actor: Any,
        report: ImportReport,
        columns: ColumnMap,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.actor = actor
        self.report = report
        self.columns = columns
        self.progress = progress
        self.channels = purchase_dataset.channel_lookup()
        self.seen: dict[int, int] = {}
        self.pending: list[Group] = []
        self.group: Group | None = None

    def error(self, number: int | None, name: str, message: str) -> None:
        column = _PURCHASE_COLUMNS.get(name, name)
        self.report.add_error(number, self.columns.header_for(column), message)

    def read(self, number: int, cells: list[Any]) -> None:
        """Check one line and add it to its purchase (a new receipt number closes the last)."""
        self.report.rows += 1
        values = self.columns.values(cells)
        line, errors = purchase_dataset.check_row(self.channels, values)
        for name, message in errors.items():
            self.error(number, name, message)
        group = self.group
        if line is None:
            reference = purchase_dataset.text(values.get("reference", ""))
            if group is not None and group[1][0]["reference"] != reference:
                self.close()
            return
        if group is not None and group[1][0]["reference"] == line["reference"]:
            conflict = purchase_dataset.header_conflict(group[1], line)
            if conflict:
                self.error(
                    number,
                    conflict,
                    _("Lines of one receipt must agree on this value (see row %(row)s).")
                    % {"row": group[0][0]},
                )
                return
            group[0].append(number)
            group[1].append(line)
            return
        self.close()
        self.group = ([number], [line])

    def close(self) -> None:
        """The purchase being gathered is complete: queue it, unless its receipt number was
        seen before in the file."""
        current, self.group = self.group, None
        if current is None:
            return
        numbers, lines = current
        key = natural_key(lines[0]["reference"])
        if key in self.seen:
            self.error(
                numbers[0],
                "reference",
                _("The same receipt number is on row %(row)s.") % {"row": self.seen[key]},
            )
            return
        self.seen[key] = numbers[0]
        self.pending.append(current)
        if len(self.pending) >= _PURCHASES_PER_FLUSH:
            self.flush()

    def flush(self) -> None:
        """Record the queued purchases; one already recorded (same receipt number) is left
        unchanged, a refused one becomes errors on its rows."""
        report = self.report
        references = [lines[0]["reference"] for _numbers, lines in self.pending]
        known = set(
            Purchase.objects.filter(reference__in=references).values_list("reference", flat=True)
        )
        for numbers, lines in self.pending:
            if lines[0]["reference"] in known:
                report.unchanged += 1
                continue
            try:
                purchase_write(self.actor, lines)
            except CpmsError as exc:
                self.refused(numbers, exc)
            else:
                report.created += 1
        self.pending.clear()
        if self.progress is not None:
            self.progress(report.rows)

    def refused(self, numbers: list[int], exc: CpmsError) -> None:
        """The retail service's refusal of a purchase: an error on the line a field names
        (`lines.<i>.<field>`), else on the purchase's first row."""
        for name, message in (exc.fields or {"": exc.message}).items():
            parts = name.split(".")
            if parts[0] == "lines" and len(parts) > 2 and parts[1].isdigit():
                index = min(int(parts[1]), len(numbers) - 1)
                self.error(numbers[index], parts[2], message)
            else:
                self.error(numbers[0], parts[0], message)


def purchase_write(actor: Any, lines: list[dict[str, Any]]) -> None:
    """Record one purchase through the retail service."""
    retail_services.purchase_record(actor=actor, data=purchase_dataset.purchase_data(lines))
