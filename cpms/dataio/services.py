"""Every write of bulk import and export.

`data_import(actor=…, dataset=…, stream=…)` reads the file once, streaming, in batches: each
batch is validated (field rules), matched with the register by natural key (scope checked) and,
while the file is still clean, applied — all inside ONE transaction. The first invalid row stops
all writing; the rest of the file is still validated so the report lists every error, and the
transaction is rolled back: all or nothing. A dry run validates and classifies without writing.

Memory stays bounded: only the natural keys seen so far (as 96-bit integers, for duplicate
detection), one batch of rows and at most MAX_ERRORS error details are held.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.models import AuditEntry
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.errors import Conflict, CpmsError
from cpms.customers.choices import CustomerStatus
from cpms.customers.models import MANAGE_PERMISSION as CUSTOMERS_MANAGE
from cpms.customers.models import VIEW_PERMISSION as CUSTOMERS_VIEW
from cpms.customers.models import Customer
from cpms.dataio import customers as customer_dataset
from cpms.dataio import holdings as holding_dataset
from cpms.dataio import purchases as purchase_dataset
from cpms.dataio.choices import Dataset, JobStatus, RowOutcome
from cpms.dataio.columns import ColumnMap, map_headers
from cpms.dataio.errors import (
    DatasetUnavailable,
    ExportApprovalPending,
    ExportNotApproved,
    FileRefused,
)
from cpms.dataio.messages import _, coded, problem
from cpms.dataio.models import ImportJob
from cpms.dataio.readers import open_table
from cpms.privacy import keys
from cpms.privacy.models import DataKey
from cpms.privacy.protected import blind_root_or_none
from cpms.privacy.services import REVEAL_PERMISSION, blind_index_root

logger = logging.getLogger(__name__)

IMPORT_PERMISSION = "data.import"
EXPORT_PERMISSION = "data.export"
IMPORT_OBJECT_TYPE = "dataio.import"
EXPORT_OBJECT_TYPE = "dataio.export"
BATCH_SIZE = 1000
PROGRESS_EVERY = 250  # rows between two progress updates of a job's checking pass
MAX_ERRORS = 1000
# Stored messages and column names are cut to these lengths: a refused header of a million
# characters must not be stored (or shown) a million characters long.
MAX_MESSAGE_CHARS = 1000
MAX_COLUMN_CHARS = 200


def _short(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
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
            entry = problem(row, field, _short(column, MAX_COLUMN_CHARS), message, reason=reason)
            entry["message"] = _short(str(message))
            self.errors.append(entry)

    def set_message(self, message: Any) -> None:
        self.message = _short(str(message))
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


class _Refused(Exception):
    """Rolls the import's transaction back once the file turned out invalid."""


def _file_digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of a seekable stream, read in chunks; the stream is rewound."""
    stream.seek(0)
    digest = hashlib.file_digest(stream, "sha256")  # type: ignore[arg-type]
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return digest.hexdigest(), size


DOMAIN_PERMISSIONS = {
    Dataset.CUSTOMERS: (CUSTOMERS_MANAGE, CUSTOMERS_VIEW),
    Dataset.HOLDINGS: (holding_dataset.MANAGE_PERMISSION, holding_dataset.VIEW_PERMISSION),
    Dataset.PURCHASES: (purchase_dataset.MANAGE_PERMISSION, purchase_dataset.VIEW_PERMISSION),
}


def _require_dataset(dataset: str) -> None:
    if dataset not in DOMAIN_PERMISSIONS:
        raise DatasetUnavailable(
            _("Importing and exporting %(dataset)s is not available yet.")
            % {"dataset": Dataset(dataset).label if dataset in Dataset.values else dataset}
        )


# --- import -----------------------------------------------------------------------------------


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
    _require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][0])
    run = {
        Dataset.CUSTOMERS: _run,
        Dataset.HOLDINGS: _holdings_run,
        Dataset.PURCHASES: _purchases_run,
    }[dataset]
    with translation.override(language or translation.get_language()):
        report = ImportReport(dataset=dataset, filename=filename, dry_run=dry_run)
        started = time.perf_counter()
        report.sha256, report.size = _file_digest(stream)
        try:
            if dry_run:
                run(actor, report, stream, apply=False, progress=progress)
            else:
                with transaction.atomic():
                    run(actor, report, stream, apply=True, progress=progress)
                    if report.error_count:
                        raise _Refused()
                    _audit_applied(actor, report, job)
        except FileRefused as exc:
            report.set_message(exc.parts[0] if len(exc.parts) == 1 else exc.message)
            for part in exc.parts:
                report.add_error(None, "", part)
        except _Refused:
            pass
        report.accepted = report.error_count == 0
        if report.accepted:
            report.set_message(
                _("Dry run: the file is valid; nothing was written.")
                if dry_run
                else _("The file was imported.")
            )
        else:
            report.created = report.updated = report.unchanged = 0
            if not report.message:
                report.set_message(
                    _("The file was refused: %(count)s errors. Nothing was written.")
                    % {"count": report.error_count}
                )
            if not dry_run:
                _audit_rejected(actor, report, job)
        report.seconds = time.perf_counter() - started
    return report


def _run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    columns = map_headers(table.headers, customer_dataset.COLUMNS)
    if apply:
        root = blind_index_root(actor=actor)
    else:
        root = blind_root_or_none() or secrets.token_bytes(32)  # nothing matches an unknown root
    context = customer_dataset.context_for(actor, root=root)
    reason = f"import sha256:{report.sha256[:16]}"
    seen_keys: dict[int, int] = {}
    seen_numbers: dict[str, int] = {}
    batch: list[customer_dataset.Row] = []
    writing = apply

    def flush() -> None:
        nonlocal writing
        plans, errors = customer_dataset.plan_batch(context, batch)
        for number, name, message in errors:
            report.add_error(
                number, columns.header_for(_column(name)), message, field=_column(name)
            )
        if report.error_count:
            writing = False
        for plan in plans:
            if plan.outcome == RowOutcome.CREATED:
                report.created += 1
            elif plan.outcome == RowOutcome.UPDATED:
                report.updated += 1
            else:
                report.unchanged += 1
        if writing:
            _customers_write(actor, context, plans, reason=reason)
        batch.clear()
        if progress is not None:
            progress(report.rows)

    for number, cells in table.rows:
        report.rows += 1
        if progress is not None and report.rows % PROGRESS_EVERY == 0:
            progress(report.rows)
        row, errors = customer_dataset.check_row(context, number, columns.values(cells))
        if len(cells) > columns.width and any(str(cell).strip() for cell in cells[columns.width :]):
            report.add_error(number, "", _("The row has more cells than the header row."))
            row = None
        for name, message in errors.items():
            report.add_error(
                number, columns.header_for(_column(name)), message, field=_column(name)
            )
        if row is None:
            continue
        if not _first_time(row, seen_keys, seen_numbers, report, columns):
            continue
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            flush()
    if batch or progress is not None:
        flush()
    if report.rows == 0:
        report.add_error(None, "", _("The file has a header row but no data rows."))


def _holdings_run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Holdings: the same streaming, batching and all-or-nothing rules; each changed row goes
    through the property register's own service (which writes its own audit entry)."""
    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    columns = map_headers(table.headers, holding_dataset.COLUMNS)
    lookup = holding_dataset.kind_lookup()
    seen: dict[int, int] = {}
    batch: list[holding_dataset.Row] = []
    writing = apply

    def flush() -> None:
        nonlocal writing
        plans, errors = holding_dataset.plan_batch(actor, batch)
        for number, name, message in errors:
            report.add_error(number, columns.header_for(name), message, field=name)
        if report.error_count:
            writing = False
        for plan in plans:
            setattr(report, plan.outcome, getattr(report, plan.outcome) + 1)
            if writing and plan.outcome != RowOutcome.UNCHANGED:
                try:
                    _holding_write(actor, plan)
                except CpmsError as exc:
                    writing = False
                    fields = exc.fields or {"": exc.message}
                    for name, message in fields.items():
                        column = {"value_minor": "value"}.get(name.split(".")[0], name)
                        report.add_error(plan.row.number, columns.header_for(column), message)
        batch.clear()
        if progress is not None:
            progress(report.rows)

    for number, cells in table.rows:
        report.rows += 1
        row, errors = holding_dataset.check_row(lookup, number, columns.values(cells))
        for name, message in errors.items():
            report.add_error(number, columns.header_for(name), message, field=name)
        if row is None:
            continue
        digest = hashlib.sha256(
            f"{row.customer_number}\x1f{row.kind}\x1f{row.identifier}".encode()
        ).digest()
        key = int.from_bytes(digest[:12], "big")
        if key in seen:
            report.add_error(
                number,
                columns.header_for("identifier"),
                _("The same property is on row %(row)s.") % {"row": seen[key]},
            )
            continue
        seen[key] = number
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    if report.rows == 0:
        report.add_error(None, "", _("The file has a header row but no data rows."))


def _holding_write(actor: Any, plan: holding_dataset.Plan) -> None:
    from cpms.holdings import services as holding_services

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


_PURCHASE_COLUMNS = {
    "unit_amount_minor": "unit_price",
    "amount_minor": "amount",
    "total_minor": "amount",
    "customer_id": "customer_number",
}


def _purchases_run(
    actor: Any,
    report: ImportReport,
    stream: IO[bytes],
    *,
    apply: bool,
    progress: Callable[[int], None] | None,
) -> None:
    """Purchases: consecutive rows with the same receipt number are one purchase, recorded
    through `retail.services.purchase_record` (its validation, scope and audit entry). Every
    purchase is tried inside the import's transaction; a dry run rolls it all back."""
    from cpms.retail.models import Purchase

    table = open_table(stream, report.filename)
    report.format, report.encoding = table.format, table.encoding
    columns = map_headers(table.headers, purchase_dataset.COLUMNS)
    channels = purchase_dataset.channel_lookup()
    seen: dict[int, int] = {}
    pending: list[tuple[list[int], list[dict[str, Any]]]] = []
    group: tuple[list[int], list[dict[str, Any]]] | None = None

    def error(number: int | None, name: str, message: str) -> None:
        report.add_error(number, columns.header_for(_PURCHASE_COLUMNS.get(name, name)), message)

    def flush() -> None:
        references = [lines[0]["reference"] for _numbers, lines in pending]
        known = set(
            Purchase.objects.filter(reference__in=references).values_list("reference", flat=True)
        )
        for numbers, lines in pending:
            if lines[0]["reference"] in known:
                report.unchanged += 1
                continue
            try:
                _purchase_write(actor, lines)
            except CpmsError as exc:
                for name, message in (exc.fields or {"": exc.message}).items():
                    parts = name.split(".")
                    if parts[0] == "lines" and len(parts) > 2 and parts[1].isdigit():
                        index = min(int(parts[1]), len(numbers) - 1)
                        error(numbers[index], parts[2], message)
                    else:
                        error(numbers[0], parts[0], message)
            else:
                report.created += 1
        pending.clear()
        if progress is not None:
            progress(report.rows)

    def close(current: tuple[list[int], list[dict[str, Any]]] | None) -> None:
        if current is None:
            return
        numbers, lines = current
        digest = hashlib.sha256(lines[0]["reference"].encode()).digest()
        key = int.from_bytes(digest[:12], "big")
        if key in seen:
            error(
                numbers[0],
                "reference",
                _("The same receipt number is on row %(row)s.") % {"row": seen[key]},
            )
            return
        seen[key] = numbers[0]
        pending.append(current)
        if len(pending) >= BATCH_SIZE // 4:
            flush()

    with transaction.atomic():
        for number, cells in table.rows:
            report.rows += 1
            values = columns.values(cells)
            line, errors = purchase_dataset.check_row(channels, values)
            for name, message in errors.items():
                error(number, name, message)
            if line is None:
                reference = purchase_dataset.text(values.get("reference", ""))
                if group is not None and group[1][0]["reference"] != reference:
                    close(group)
                    group = None
                continue
            if group is not None and group[1][0]["reference"] == line["reference"]:
                conflict = purchase_dataset.header_conflict(group[1], line)
                if conflict:
                    error(
                        number,
                        conflict,
                        _("Lines of one receipt must agree on this value (see row %(row)s).")
                        % {"row": group[0][0]},
                    )
                    continue
                group[0].append(number)
                group[1].append(line)
                continue
            close(group)
            group = ([number], [line])
        close(group)
        flush()
        if not apply or report.error_count:
            transaction.set_rollback(True)
    if report.rows == 0:
        report.add_error(None, "", _("The file has a header row but no data rows."))


def _purchase_write(actor: Any, lines: list[dict[str, Any]]) -> None:
    from cpms.retail import services as retail_services

    retail_services.purchase_record(actor=actor, data=purchase_dataset.purchase_data(lines))


def _column(name: str) -> str:
    return {"branch_id": "branch", "relationship_manager_id": "relationship_manager"}.get(
        name, name
    )


def _first_time(
    row: customer_dataset.Row,
    seen_keys: dict[int, int],
    seen_numbers: dict[str, int],
    report: ImportReport,
    columns: ColumnMap,
) -> bool:
    """Duplicate natural keys inside one file are errors (the second and later rows)."""
    duplicate_of = None
    if row.customer_number:
        duplicate_of = seen_numbers.get(row.customer_number)
        if duplicate_of is None:
            seen_numbers[row.customer_number] = row.number
        else:
            report.add_error(
                row.number,
                columns.header_for("customer_number"),
                _("The same customer number is on row %(row)s.") % {"row": duplicate_of},
                field="customer_number",
            )
            return False
    if row.key_index:
        kind = customer_dataset.IDENTITY_ORDER.get(row.given["identity_kind"], 0)
        key = (int(row.key_index[:24], 16) << 3) | kind
        duplicate_of = seen_keys.get(key)
        if duplicate_of is None:
            seen_keys[key] = row.number
        else:
            report.add_error(
                row.number,
                columns.header_for("identity_number"),
                _("The same identity document is on row %(row)s.") % {"row": duplicate_of},
                field="identity_number",
            )
            return False
    return True


def _audit_applied(actor: Any, report: ImportReport, job: ImportJob | None) -> None:
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


def _audit_rejected(actor: Any, report: ImportReport, job: ImportJob | None) -> None:
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


# --- customers: bulk writes -------------------------------------------------------------------

_TABLE = Customer._meta.db_table
_CIPHER_COLUMNS = {
    name: Customer._meta.get_field(spec.ciphertext).column
    for name, spec in Customer.pii.fields.items()
}


_CONVERTED_TYPES = {"DateField", "DateTimeField", "JSONField", "DecimalField", "UUIDField"}


def _insert_rows(model: Any, objects: list[Any]) -> None:
    """INSERT model instances (primary keys already set) with one prepared statement per
    batch: what bulk_create writes, without its per-value SQL compilation (the import's
    hottest path). Values go through each field's own database preparation."""
    if not objects:
        return
    fields = [
        each
        for each in model._meta.concrete_fields
        if not (each.primary_key and getattr(objects[0], each.attname) is None)
    ]
    columns = ", ".join(connection.ops.quote_name(each.column) for each in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model)
    plan = [
        (each.attname, each if each.get_internal_type() in _CONVERTED_TYPES else None)
        for each in fields
    ]
    rows = []
    for instance in objects:
        row = []
        for attname, model_field in plan:
            value = getattr(instance, attname)
            if model_field is not None:
                value = model_field.get_db_prep_save(value, connection)
            row.append(value)
        rows.append(row)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            cursor.executemany(sql, rows[start : start + 500])
    for instance in objects:
        instance._state.adding = False
        instance._state.db = connection.alias


def _update_rows(model: Any, objects: list[Any], names: list[str]) -> None:
    """UPDATE the given fields of model instances with one prepared statement executed for
    every row (Django's bulk_update builds one CASE per field and row, which is much slower)."""
    if not objects:
        return
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    table = quote(model._meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # noqa: S608
    plan = [
        (each.attname, each if each.get_internal_type() in _CONVERTED_TYPES else None)
        for each in fields
    ]
    rows = []
    for instance in objects:
        row = []
        for attname, model_field in plan:
            value = getattr(instance, attname)
            if model_field is not None:
                value = model_field.get_db_prep_save(value, connection)
            row.append(value)
        row.append(instance.pk)
        rows.append(row)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            cursor.executemany(sql, rows[start : start + 500])


def _allocate_ids(count: int) -> list[int]:
    """Primary keys for new customers, taken before the insert so the customer number, the
    data key's subject and the ciphertexts' associated data are known up front (one INSERT per
    batch, no UPDATE). PostgreSQL: the identity sequence; SQLite: above the largest id ever
    used, under the write lock the transaction already holds."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [_TABLE, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{_TABLE}"')  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [_TABLE])
        found = cursor.fetchone()
        if found is not None:
            top = max(top, found[0])
    return list(range(top + 1, top + 1 + count))


def _new_data_keys(pks: list[int]) -> dict[int, crypto.FieldCipher]:
    """One data key per new customer (what `privacy.services.data_key_ensure` makes), in one
    INSERT. Their creation is recorded in each customer's `customer.created` entry."""
    ciphers: dict[int, crypto.FieldCipher] = {}
    rows = []
    now = timezone.now()
    for pk in pks:
        key_id = secrets.token_hex(8)
        key = crypto.new_key()
        wrapped, master_id = keys.wrap(
            subject_type=customer_dataset.OBJECT_TYPE, subject_id=str(pk), key_id=key_id, key=key
        )
        rows.append(
            DataKey(
                subject_type=customer_dataset.OBJECT_TYPE,
                subject_id=str(pk),
                key_id=key_id,
                wrapped_key=wrapped,
                master_key_id=master_id,
                created_at=now,
            )
        )
        ciphers[pk] = crypto.FieldCipher(key_id, key)
    _insert_rows(DataKey, rows)
    return ciphers


def _existing_ciphers(pks: list[int]) -> dict[int, crypto.FieldCipher]:
    ciphers: dict[int, crypto.FieldCipher] = {}
    rows = DataKey.objects.filter(
        subject_type=customer_dataset.OBJECT_TYPE, subject_id__in=[str(pk) for pk in pks]
    ).values_list("subject_id", "key_id", "wrapped_key", "destroyed_at")
    for subject_id, key_id, wrapped, destroyed_at in rows:
        if destroyed_at is not None:
            continue
        ciphers[int(subject_id)] = keys.data_cipher(
            key_id=key_id,
            wrapped=wrapped,
            subject_type=customer_dataset.OBJECT_TYPE,
            subject_id=subject_id,
        )
    return ciphers


def _encrypt(
    context: customer_dataset.Context,
    customer: Customer,
    values: dict[str, str | None],
    cipher: crypto.FieldCipher | None,
) -> list[str]:
    """Ciphertext and blind index of each value onto the row (as `pii_assign` does)."""
    changed = []
    row_key = str(customer.pk)
    for name, value in values.items():
        spec = Customer.pii.fields[name]
        text = "" if value is None else str(value).strip()
        token = index = ""
        if text:
            if cipher is None:
                from cpms.privacy.errors import SubjectErased

                raise SubjectErased()
            token = cipher.encrypt(
                text, crypto.associated_data(_TABLE, _CIPHER_COLUMNS[name], row_key)
            )
            if spec.index is not None:
                index = context.index(name, text)
        setattr(customer, spec.ciphertext, token)
        changed.append(spec.ciphertext)
        if spec.index is not None:
            setattr(customer, spec.index, index)
            changed.append(spec.index)
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _snapshot(
    context: customer_dataset.Context,
    customer: Customer,
    pii: dict[str, str | None],
    names: Any = None,
) -> dict[str, Any]:
    """The registry's audit view of a customer: plain fields, personal data as keyed digests."""
    wanted = customer_dataset.AUDITED_FIELDS if names is None else names
    snapshot = {
        name: _plain(getattr(customer, name))
        for name in wanted
        if name in customer_dataset.AUDITED_FIELDS
    }
    for name in customer_dataset.PROTECTED:
        if names is None or name in names:
            value = pii.get(name)
            snapshot[name] = "hmac-sha256:" + context.digest(value) if value else ""
    return snapshot


def _customers_write(
    actor: Any,
    context: customer_dataset.Context,
    plans: list[customer_dataset.Plan],
    *,
    reason: str,
) -> None:
    """Create and update one batch of customers, with the registry's audit entries."""
    creates = [plan for plan in plans if plan.outcome == RowOutcome.CREATED]
    updates = [plan for plan in plans if plan.outcome == RowOutcome.UPDATED]
    now = timezone.now()
    if creates:
        pks = _allocate_ids(len(creates))
        keyed = [pk for pk, plan in zip(pks, creates, strict=True) if any(plan.pii.values())]
        ciphers = _new_data_keys(keyed)
        customers = []
        for pk, plan in zip(pks, creates, strict=True):
            customer = Customer(
                pk=pk,
                customer_number=f"C{pk:08d}",
                created_at=now,
                updated_at=now,
                status=CustomerStatus.ACTIVE,
                status_changed_at=now,
                data_warnings=plan.row.warnings,
                **plan.values,
            )
            _encrypt(context, customer, plan.pii, ciphers.get(pk))
            customers.append(customer)
        _insert_rows(Customer, customers)
        _claim_identities(customers)
        for customer, plan in zip(customers, creates, strict=True):
            after = _snapshot(context, customer, plan.pii)
            after["warnings"] = [f"{w['field']}:{w['code']}" for w in plan.row.warnings]
            if customer.pk in ciphers:
                after["data_key_id"] = ciphers[customer.pk].key_id
            audit_record(
                actor=actor,
                action=AuditAction.CUSTOMER_CREATED,
                object_type=customer_dataset.OBJECT_TYPE,
                object_id=customer.pk,
                after=after,
                pii_fields=customer_dataset.PROTECTED,
                reason=reason,
            )
    if updates:
        _customers_update(actor, context, updates, now=now, reason=reason)


def _claim_identities(customers: list[Customer]) -> None:
    """The identity claims of new customers (cpms.customers: one row per document, unique), in
    the import's transaction: a registration of the same document committed meanwhile makes
    the whole import fail instead of leaving two customers with one document."""
    from cpms.customers.models import IdentityClaim
    from cpms.customers.services import identity_key

    claims = []
    for customer in customers:
        key = identity_key(
            customer.identity_kind, customer.identity_country, customer.identity_number_index
        )
        if key:
            claims.append(IdentityClaim(key=key, customer=customer))
    try:
        with transaction.atomic():
            IdentityClaim.objects.bulk_create(claims, batch_size=500)
    except IntegrityError:
        raise Conflict(
            _(
                "A customer with one of these identity documents was registered while the file "
                "was being imported; import the file again to update that customer instead."
            ),
            code="customers.duplicate_identity",
        ) from None


def _customers_update(
    actor: Any,
    context: customer_dataset.Context,
    plans: list[customer_dataset.Plan],
    *,
    now: datetime.datetime,
    reason: str,
) -> None:
    need_keys = [
        plan.customer.pk
        for plan in plans
        if any(plan.pii[name] for name in plan.changed if name in customer_dataset.PROTECTED)
    ]
    ciphers = _existing_ciphers(need_keys)
    missing = [pk for pk in need_keys if pk not in ciphers]
    if missing:
        known = set(
            DataKey.objects.filter(
                subject_type=customer_dataset.OBJECT_TYPE,
                subject_id__in=[str(pk) for pk in missing],
            ).values_list("subject_id", flat=True)
        )
        ciphers.update(_new_data_keys([pk for pk in missing if str(pk) not in known]))
    fields: set[str] = {"updated_at"}
    rows = []
    entries = []
    for plan in plans:
        customer = plan.customer
        assert customer is not None
        before = _snapshot(context, customer, plan.before_pii)
        for name in customer_dataset.PLAIN_FIELDS:
            if name in plan.changed:
                setattr(customer, name, plan.values[name])
                fields.add(name)
        touched = {name: plan.pii[name] for name in plan.changed if name in plan.pii}
        if touched:
            fields.update(_encrypt(context, customer, touched, ciphers.get(customer.pk)))
        identifiers = {"identity_number", "identity_kind", "phone", "email"} & set(plan.changed)
        if identifiers or plan.row.warnings:
            kept = [w for w in customer.data_warnings if w.get("field") not in identifiers]
            customer.data_warnings = kept + [w for w in plan.row.warnings if w not in kept]
            fields.add("data_warnings")
        customer.updated_at = now
        after = _snapshot(context, customer, {**plan.before_pii, **plan.pii})
        differing = [name for name in after if after[name] != before[name]]
        rows.append(customer)
        entries.append((customer, before, after, differing))
    _update_rows(Customer, rows, sorted(fields))
    for plan in plans:
        if {"identity_number", "identity_kind"} & set(plan.changed):
            from cpms.customers.services import identity_claim

            identity_claim(plan.customer, actor=actor)  # a changed document takes its claim
    for customer, before, after, differing in entries:
        profile = [name for name in differing if name not in customer_dataset.ASSIGNMENT_FIELDS]
        if profile:
            audit_record(
                actor=actor,
                action=AuditAction.CUSTOMER_UPDATED,
                object_type=customer_dataset.OBJECT_TYPE,
                object_id=customer.pk,
                before={name: before[name] for name in profile},
                after={name: after[name] for name in profile},
                pii_fields=customer_dataset.PROTECTED,
                reason=reason,
            )
        if any(name in customer_dataset.ASSIGNMENT_FIELDS for name in differing):
            audit_record(
                actor=actor,
                action=AuditAction.CUSTOMER_ASSIGNED,
                object_type=customer_dataset.OBJECT_TYPE,
                object_id=customer.pk,
                before={name: before[name] for name in customer_dataset.ASSIGNMENT_FIELDS},
                after={name: after[name] for name in customer_dataset.ASSIGNMENT_FIELDS},
                reason=reason,
            )


# --- export -----------------------------------------------------------------------------------


def data_export(
    *,
    actor: Any,
    dataset: str,
    stream: IO[bytes],
    file_format: str,
    include_pii: bool = False,
    language: str | None = None,
    reason: str = "",
    approval_request: Any = None,
) -> int:
    """Write the actor's customers (scoped) to `stream` as CSV or XLSX; personal data masked
    unless `include_pii`, which needs pii.reveal, a reason, an approved `privacy.bulk_export`
    request (when its policy is enabled; without one, a request is submitted and
    `ExportApprovalPending` raised) and one reveal of the actor's budget
    (`privacy.rate_limited` once used up). Audited (`data.exported`) with the count."""
    from cpms.access.scopes import scoped
    from cpms.dataio.writers import write_table

    require_permission(actor, EXPORT_PERMISSION)
    _require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][1])
    approval_id = None
    if include_pii:
        approval_id, reason = _clear_export_allowed(
            actor,
            dataset=dataset,
            file_format=file_format,
            reason=reason,
            approval_request=approval_request,
        )
    with translation.override(language or translation.get_language()):
        if dataset == Dataset.CUSTOMERS:
            root = blind_root_or_none()
            context = customer_dataset.context_for(actor, root=root)
            customers = scoped(Customer.objects.all(), user=actor, permission=CUSTOMERS_VIEW)
            headers = [column.header() for column in customer_dataset.COLUMNS]
            rows = customer_dataset.export_rows(context, customers, include_pii=include_pii)
        elif dataset == Dataset.PURCHASES:
            from cpms.retail.models import Purchase

            purchases = scoped(
                Purchase.objects.all(), user=actor, permission=purchase_dataset.VIEW_PERMISSION
            )
            headers = [column.header() for column in purchase_dataset.COLUMNS]
            rows = purchase_dataset.export_rows(purchases)
        else:
            from cpms.holdings.models import Holding

            holdings = scoped(
                Holding.objects.all(), user=actor, permission=holding_dataset.VIEW_PERMISSION
            )
            headers = [column.header() for column in holding_dataset.COLUMNS]
            rows = holding_dataset.export_rows(holdings)
        count = write_table(stream, file_format, headers, rows)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT_WRITTEN,
            object_type=EXPORT_OBJECT_TYPE,
            object_id=dataset,
            after={
                "dataset": dataset,
                "format": file_format,
                "count": count,
                "include_pii": include_pii,
                "approval_request": approval_id,
            },
            reason=reason if include_pii else "",
        )
    return count


BULK_EXPORT_ACTION = "privacy.bulk_export"
APPROVED_EXPORT_VALID_HOURS = 24


def export_approval_execute(*, request: Any, actor: Any) -> dict[str, Any]:
    """The approved operation: a grant the maker uses once, within a day, to download the
    export (`data_export(..., approval_request=id)`)."""
    return {"granted": True, **{key: request.payload.get(key) for key in ("dataset", "format")}}


def export_approval_describe(payload: Any) -> str:
    dataset = str(payload.get("dataset", ""))
    return _("Export %(dataset)s with personal data in clear (%(format)s)") % {
        "dataset": Dataset(dataset).label if dataset in Dataset.values else dataset,
        "format": str(payload.get("format", "")).upper(),
    }


def _export_refused(actor: Any, dataset: str, code: str, reason: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.PII_REVEAL_REFUSED,
            object_type=EXPORT_OBJECT_TYPE,
            object_id=dataset,
            after={"field": "*", "refusal": code},
            reason=reason,
        )


def _approved_request(actor: Any, pk: Any, *, dataset: str, file_format: str) -> Any:
    from cpms.approvals.choices import ApprovalStatus
    from cpms.approvals.models import ApprovalRequest

    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise ExportNotApproved(
            fields={"approval_request": _("Give the request number.")}
        ) from None
    request = ApprovalRequest.objects.filter(
        pk=number, action=BULK_EXPORT_ACTION, maker_id=actor.pk, status=ApprovalStatus.EXECUTED
    ).first()
    valid_until = (
        request.closed_at + datetime.timedelta(hours=APPROVED_EXPORT_VALID_HOURS)
        if request is not None and request.closed_at is not None
        else None
    )
    if (
        request is None
        or request.payload.get("dataset") != dataset
        or request.payload.get("format") != file_format
        or valid_until is None
        or valid_until < timezone.now()
    ):
        raise ExportNotApproved()
    return request


def _clear_export_allowed(
    actor: Any, *, dataset: str, file_format: str, reason: str, approval_request: Any
) -> tuple[int | None, str]:
    """Check (and charge) a clear-text export; returns the approval request used and the
    reason. Every refusal is audited (`pii.reveal_refused`)."""
    from cpms.access.checks import user_has_permission
    from cpms.approvals.services import approval_required, approval_submit
    from cpms.core.errors import PermissionDenied
    from cpms.privacy.errors import RateLimited, ReasonRequired
    from cpms.privacy.services import REVEAL_REASON_MIN_LENGTH, reveal_budget_charge

    reason = (reason or "").strip()
    if not user_has_permission(actor, REVEAL_PERMISSION):
        _export_refused(actor, dataset, PermissionDenied.code, reason)
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    request = None
    if approval_request in (None, "") and len(reason) < REVEAL_REASON_MIN_LENGTH:
        _export_refused(actor, dataset, ReasonRequired.code, reason)
        raise ReasonRequired(fields={"reason": _("At least 5 characters.")})
    if approval_required(BULK_EXPORT_ACTION):
        if approval_request in (None, ""):
            submission = approval_submit(
                actor=actor,
                action=BULK_EXPORT_ACTION,
                payload={"dataset": dataset, "format": file_format},
                object_type=EXPORT_OBJECT_TYPE,
                object_id=dataset,
                reason=reason,
            )
            assert submission.request is not None
            raise ExportApprovalPending(
                _(
                    "Exporting personal data in clear needs approval: your request was sent "
                    "to a checker. Once it is approved, choose it under “Approved request” on "
                    "the export page and download again."
                ),
                fields={"approval_request": str(submission.request.pk)},
            )
        try:
            request = _approved_request(
                actor, approval_request, dataset=dataset, file_format=file_format
            )
        except ExportNotApproved:
            _export_refused(actor, dataset, ExportNotApproved.code, reason)
            raise
        reason = reason or request.reason
    approval_id = request.pk if request is not None else None
    try:
        with transaction.atomic():
            reveal_budget_charge(
                actor=actor,
                object_type=EXPORT_OBJECT_TYPE,
                object_id=dataset,
                reason=reason,
                details={
                    "dataset": dataset,
                    "format": file_format,
                    "approval_request": approval_id,
                },
            )
            if approval_id is not None and (
                AuditEntry.objects.filter(
                    action=AuditAction.PII_REVEALED,
                    object_type=EXPORT_OBJECT_TYPE,
                    after__approval_request=approval_id,
                ).count()
                > 1
            ):
                raise ExportNotApproved()  # already used: one download per approval
    except (RateLimited, ExportNotApproved) as exc:
        _export_refused(actor, dataset, exc.code, reason)
        raise
    return approval_id, reason


# --- import jobs ------------------------------------------------------------------------------


def import_job_submit(
    *, actor: Any, dataset: str, upload: Any, dry_run: bool = False, language: str = "en"
) -> ImportJob:
    """Store an uploaded file (default storage) and queue its import as a job."""
    require_permission(actor, IMPORT_PERMISSION)
    _require_dataset(dataset)
    require_permission(actor, DOMAIN_PERMISSIONS[dataset][0])
    name = str(getattr(upload, "name", "") or "upload")[:255]
    with transaction.atomic():
        job = ImportJob(
            created_by=actor,
            dataset=dataset,
            original_name=name,
            dry_run=dry_run,
            language=language,
            size=getattr(upload, "size", 0) or 0,
        )
        job.file.save(f"{secrets.token_hex(8)}.upload", upload, save=False)
        job.save()
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT_SUBMITTED,
            object_type=IMPORT_OBJECT_TYPE,
            object_id=job.pk,
            after={"dataset": dataset, "file_name": name, "dry_run": dry_run, "size": job.size},
        )

        def enqueue() -> None:
            from cpms.dataio.tasks import import_job_run_task

            import_job_run_task(job.pk)

        transaction.on_commit(enqueue)
    return job


def _job_row_count(job: ImportJob) -> int:
    """How many data rows the stored file has (0 when it cannot be read: the checking pass
    then says why). One quick streaming read, so the progress bar knows its end."""
    from cpms.dataio.readers import open_table

    try:
        with job.file.open("rb") as stream, translation.override(job.language):
            table = open_table(stream, job.original_name)
            return sum(1 for _row in table.rows)
    except Exception:
        return 0


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job as the member of staff who started it: a validating pass with
    progress, then (if clean and not a dry run) the applying pass, each reading the stored
    file afresh. A job always ends accepted, refused or failed: an unexpected error is logged
    and the job fails with its reason shown (and, unless a dry run, `data.import_rejected`)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != JobStatus.QUEUED:
        return job
    actor = job.created_by
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), rows_total=_job_row_count(job)
    )

    def progress(rows: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(rows_read=rows)

    def one_pass(*, dry_run: bool, with_progress: bool) -> ImportReport:
        with job.file.open("rb") as stream:
            return data_import(
                actor=actor,
                dataset=job.dataset,
                stream=stream,
                filename=job.original_name,
                dry_run=dry_run,
                language=job.language,
                progress=progress if with_progress else None,
                job=job,
            )

    failure: Any = ""
    try:
        report = one_pass(dry_run=True, with_progress=True)
        if report.accepted and not job.dry_run:
            # The checking pass is over: the page says so while the writing pass runs (in
            # one transaction, so its own progress cannot be seen from outside).
            ImportJob.objects.filter(pk=job.pk).update(rows_read=report.rows)
            report = one_pass(dry_run=False, with_progress=False)
        elif not report.accepted and not job.dry_run:
            _audit_rejected(actor, report, job)
    except CpmsError as exc:
        failure = exc.message
    except Exception as exc:  # a job must never stay "running": record why it stopped
        logger.exception("import job %s failed", job.pk)
        with translation.override(job.language):
            failure = _(
                "The import stopped because of an unexpected error (%(error)s); nothing was "
                "written. Try again, or give this message to your administrator."
            ) % {"error": _short(f"{type(exc).__name__}: {exc}", 300)}
    if failure:
        report = ImportReport(dataset=job.dataset, filename=job.original_name)
        report.add_error(None, "", failure)
        report.set_message(failure)
        status = JobStatus.FAILED
    else:
        status = JobStatus.ACCEPTED if report.accepted else JobStatus.REFUSED
    written = report.created + report.updated if status == JobStatus.ACCEPTED else 0
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=status,
            sha256=report.sha256,
            rows_read=report.rows,
            rows_written=0 if job.dry_run else written,
            created_count=report.created,
            updated_count=report.updated,
            unchanged_count=report.unchanged,
            error_count=report.error_count,
            errors=report.stored_errors(),
            message=report.message,
            summary=report.summary,
            finished_at=timezone.now(),
            **({} if failure else {"rows_total": report.rows}),
        )
        if failure and not job.dry_run:
            _audit_rejected(actor, report, job)
    job.refresh_from_db()
    return job
