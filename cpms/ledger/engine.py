"""The posting engine: the only code that writes `Transfer` and `Balance` rows.

It runs inside the caller's transaction and does no permission check and no audit entry:
`ledger.services` (and the points, loans and portfolios services) wrap it with both. Steps,
for one transfer or a linked batch alike:

1. idempotency: keys already stored return the original transfers (a replay posts nothing and
   is answered even when its value date has been closed since); this is the one place replays
   are looked up;
2. validate every transfer (amount, asset, two different open accounts, value date after the
   last period close) and report every wrong row at once;
3. let the caller adjust the new transfers before anything is locked (`before_posting`: the
   ledger's services turn transfers above the approval threshold into holds there);
4. choose a balance shard per account (busy internal accounts have several, so concurrent
   writers lock different rows), lock the touched shards in (account, shard) order — the same
   global order in every transaction, so PostgreSQL never sees a lock cycle;
5. check the no-negative rule on the locked rows, insert the transfers, write the new totals.

An account's balance shards are created with it (`balances_open`).

On PostgreSQL a period close takes an exclusive advisory lock and every posting a shared one, so
a close waits for postings in flight and no posting slips into a period being closed."""

from __future__ import annotations

import datetime
import os
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.ledger.assets import format_minor
from cpms.ledger.choices import AccountStatus, NormalSide, TransferKind
from cpms.ledger.errors import (
    IdempotencyConflict,
    InsufficientFunds,
    InvalidTransfer,
    NotPending,
    PeriodClosed,
    key_clash,
)
from cpms.ledger.models import Account, Balance, PeriodClose, Transfer

PERIOD_LOCK_KEY = 0x43504D534C444752  # "CPMSLDGR"
MAX_BATCH = 8190
_IN_CHUNK = 500


@dataclass
class TransferSpec:
    """One transfer to post. Accounts are `Account` rows (resolve codes/ids first)."""

    debit_account: Account
    credit_account: Account
    amount: int
    reference: str = ""
    value_date: datetime.date | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    pending: bool = False
    expires_at: datetime.datetime | None = None
    reverses: Transfer | None = None
    approval_request_id: int | None = None


@dataclass(frozen=True)
class Posted:
    transfers: list[Transfer]
    replayed: bool


def require_transaction() -> None:
    if connections[DEFAULT_DB_ALIAS].get_autocommit():
        raise RuntimeError("ledger postings must run inside transaction.atomic()")


def _is_postgres() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def today() -> datetime.date:
    return timezone.localdate()


def closed_through(*, exclusive: bool = False) -> datetime.date | None:
    """The last closed date, after taking the period lock (shared for postings, exclusive for
    a close) on PostgreSQL. SQLite has one writer at a time, which is the same guarantee."""
    if _is_postgres():
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [PERIOD_LOCK_KEY])
    return PeriodClose.objects.order_by("-through").values_list("through", flat=True).first()


def new_key() -> str:
    """A random idempotency key: the hex of a version-4 UUID (as `uuid.uuid4().hex`, built
    from the random bytes directly: a batch of 8,190 needs 8,190 of them)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


# ------------------------------------------------------------------------ validation


def _validate(specs: Sequence[TransferSpec], closed: datetime.date | None) -> None:
    problems: dict[str, str] = {}

    def fail(index: int, name: str, message: str) -> None:
        key = f"transfers[{index}].{name}" if len(specs) > 1 else name
        problems.setdefault(key, message)

    keys: dict[str, int] = {}
    for index, spec in enumerate(specs):
        amount = spec.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            fail(
                index,
                "amount_minor",
                _("The amount must be a whole number of minor units above 0."),
            )
        elif amount > 9_000_000_000_000_000:
            fail(index, "amount_minor", _("The amount is too large."))
        debit, credit = spec.debit_account, spec.credit_account
        if debit.pk == credit.pk:
            fail(index, "credit_account", _("Debit and credit must be two different accounts."))
        elif debit.asset_id != credit.asset_id:
            fail(
                index,
                "credit_account",
                _("Both accounts must hold the same asset (%(debit)s, %(credit)s).")
                % {"debit": debit.asset.code, "credit": credit.asset.code},
            )
        for name, account in (("debit_account", debit), ("credit_account", credit)):
            if account.status != AccountStatus.OPEN:
                fail(index, name, _("Account %(code)s is closed.") % {"code": account.code})
        if closed is not None and spec.value_date is not None and spec.value_date <= closed:
            fail(
                index,
                "value_date",
                _("The books are closed through %(date)s; choose a later value date.")
                % {"date": closed.isoformat()},
            )
        if len(spec.reference or "") > 140:
            fail(index, "reference", _("At most 140 characters."))
        key = spec.idempotency_key
        if key is not None:
            if not key or len(key) > 80:
                fail(index, "idempotency_key", _("Use 1 to 80 characters."))
            elif key in keys:
                fail(
                    index,
                    "idempotency_key",
                    _("The same key is used by transfer %(other)s of this batch.")
                    % {"other": keys[key]},
                )
            else:
                keys[key] = index
    if problems:
        if closed is not None and all(k.endswith("value_date") for k in problems):
            raise PeriodClosed(fields=problems)
        raise InvalidTransfer(_("The transfer is not valid."), fields=problems)


def _same_request(stored: Transfer, spec: TransferSpec) -> bool:
    return (
        stored.debit_account_id == spec.debit_account.pk
        and stored.credit_account_id == spec.credit_account.pk
        and stored.amount == spec.amount
        # a transfer held for approval was asked for as a plain posting
        and (
            stored.approval_request_id is not None
            or (stored.kind == TransferKind.PENDING) == bool(spec.pending)
        )
        and (spec.reference or "") == stored.reference
    )


def find_replay(specs: Sequence[TransferSpec]) -> list[Transfer] | None:
    """The stored transfers when every key of the batch is already stored (a replay); None
    when none is. A mix, or a key stored for different content, is refused."""
    keys = [spec.idempotency_key for spec in specs if spec.idempotency_key]
    if not keys:
        return None
    found: dict[str, Transfer] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        for transfer in Transfer.objects.filter(idempotency_key__in=chunk):
            found[transfer.idempotency_key] = transfer
    if not found:
        return None
    # keys are unique across the ledger, so a stored transfer may be outside the caller's
    # scope: a refusal names only the caller's own rows and keys, never the stored transfer
    problems: dict[str, str] = {}
    for index, spec in enumerate(specs):
        stored = found.get(spec.idempotency_key or "")
        name = f"transfers[{index}].idempotency_key" if len(specs) > 1 else "idempotency_key"
        if stored is None:
            problems[name] = _(
                "Part of this batch was already posted with these keys; a batch is replayed "
                "whole or posted whole."
            )
        elif not _same_request(stored, spec):
            problems.update(key_clash(name).fields)
    if problems:
        raise IdempotencyConflict(fields=problems)
    return [found[spec.idempotency_key or ""] for spec in specs]


# ------------------------------------------------------------------------ balances


def _shard_for(account: Account, chooser: random.Random) -> int:
    return 0 if account.shards <= 1 else chooser.randrange(account.shards)


def balances_open(account: Account) -> None:
    """Create the balance shards of a new account (`account.shards` rows, all zero), in the
    caller's transaction."""
    Balance.objects.bulk_create(
        Balance(
            account=account,
            shard=shard,
            normal_side=account.normal_side,
            no_negative=account.no_negative,
        )
        for shard in range(account.shards)
    )


def lock_balances(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Balance]:
    """Lock the balance shards `(account_id, shard)` in global order and return them."""
    ordered = sorted(set(pairs))
    rows: dict[tuple[int, int], Balance] = {}
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        placeholders = ", ".join(["(%s, %s)"] * len(chunk))
        params = [value for pair in chunk for value in pair]
        lock = " FOR UPDATE" if _is_postgres() else ""
        query = (
            "SELECT * FROM ledger_balance WHERE (account_id, shard) IN ("  # noqa: S608
            + placeholders
            + ") ORDER BY account_id, shard"
            + lock
        )
        for row in Balance.objects.raw(query, params):
            rows[(row.account_id, row.shard)] = row
    missing = [pair for pair in ordered if pair not in rows]
    if missing:
        raise RuntimeError(f"balance shards missing: {missing[:5]}")
    return rows


def _write_balances(rows: Iterable[Balance]) -> None:
    params = [
        (row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending, row.pk)
        for row in rows
    ]
    if not params:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.executemany(
            "UPDATE ledger_balance SET debits_posted = %s, credits_posted = %s, "
            "debits_pending = %s, credits_pending = %s WHERE id = %s",
            params,
        )


def available(row: Balance) -> int:
    """What the shard can still give (normal-side balance minus pending outflows)."""
    if row.normal_side == NormalSide.CREDIT:
        return row.credits_posted - row.debits_posted - row.debits_pending
    return row.debits_posted - row.credits_posted - row.credits_pending


def _check_no_negative(
    rows: Mapping[tuple[int, int], Balance], accounts: Mapping[int, Account], touched: set
) -> None:
    problems: dict[str, str] = {}
    for pair in sorted(touched):
        row = rows[pair]
        if not row.no_negative:
            continue
        left = available(row)
        if left < 0:
            account = accounts[row.account_id]
            exponent = account.asset.exponent
            problems[account.code] = _(
                "Account %(code)s would go %(short)s %(asset)s below zero."
            ) % {
                "code": account.code,
                "short": format_minor(-left, exponent),
                "asset": account.asset.code,
            }
    if problems:
        raise InsufficientFunds(fields=problems)


# ------------------------------------------------------------------------ inserting

# Rows per INSERT statement: 18 parameters each, well under PostgreSQL's 65,535 and SQLite's
# 32,766 (3.32+; 999 before) bound parameters.
_INSERT_ROWS = 500
# PostgreSQL: from this many rows COPY (two round trips) beats one INSERT ... RETURNING
_COPY_FROM = 64


def _insert_transfers(
    values: list[dict[str, Any]], specs: Sequence[TransferSpec]
) -> list[Transfer]:
    """INSERT the new transfer rows and return them as `Transfer` instances with their ids.

    The same rows `Transfer.objects.bulk_create` would write, without its per-field, per-row
    machinery (which cost more than the database work for a batch of 8,190): each value is
    prepared for the database once per distinct value where it can be (dates, the batch id,
    the timestamp), the rows go in with COPY on PostgreSQL (ids from the sequence) and
    multi-row `INSERT ... RETURNING id` statements elsewhere, and the instances are built the
    way rows read from the database are."""
    conn = connections[DEFAULT_DB_ALIAS]
    if not conn.features.can_return_rows_from_bulk_insert:
        objects = [Transfer(**row) for row in values]
        return Transfer.objects.bulk_create(objects, batch_size=1000)
    meta = Transfer._meta
    columns = list(values[0])
    fields = {field.attname: field for field in meta.concrete_fields}
    prepare = {name: _preparer(fields[name], conn) for name in _PREPARED if name in fields}
    quote = conn.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(fields[name].column) for name in columns)
    row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = _INSERT_ROWS
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql" and len(values) >= _COPY_FROM:
            ids = _copy_transfers(cursor, values, columns, prepare)
        else:
            if conn.vendor == "sqlite":  # its bound-parameter limit is a compile-time option
                import sqlite3

                limit = conn.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
                per_statement = max(1, min(per_statement, limit // len(columns)))
            ids = []
            for start in range(0, len(values), per_statement):
                chunk = values[start : start + per_statement]
                params = [
                    prepare[name](row[name]) if name in prepare else row[name]
                    for row in chunk
                    for name in columns
                ]
                cursor.execute(
                    f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 (names from the model)
                    + ", ".join([row_marks] * len(chunk))
                    + f" RETURNING {quote(meta.pk.column)}",
                    params,
                )
                ids.extend(row[0] for row in cursor.fetchall())
    attnames = [field.attname for field in meta.concrete_fields]
    pk_name = meta.pk.attname
    # the instances a read of these rows would give; without `Model.__init__` (a third of the
    # Python time of a batch) when no pre_init/post_init receiver expects it to run
    plain = not (
        signals.pre_init.has_listeners(Transfer) or signals.post_init.has_listeners(Transfer)
    )
    created: list[Transfer] = []
    for pk, row, spec in zip(ids, values, specs, strict=True):
        row[pk_name] = pk
        if plain:
            transfer = Transfer.__new__(Transfer)
            state = transfer._state = ModelState()
            state.adding = False
            state.db = DEFAULT_DB_ALIAS
            transfer.__dict__.update(row)
        else:
            row_values = [row[name] for name in attnames]
            transfer = Transfer.from_db(DEFAULT_DB_ALIAS, attnames, row_values)
        if spec.reverses is not None:
            transfer.reverses = spec.reverses
        created.append(transfer)
    return created


def _copy_transfers(
    cursor: Any, values: list[dict[str, Any]], columns: list[str], prepare: Mapping[str, Any]
) -> list[int]:
    """PostgreSQL: take the ids from the table's sequence in one query, then COPY the rows
    with them (psycopg would otherwise parse a multi-row INSERT of 9,000 placeholders on the
    client for every statement)."""
    meta = Transfer._meta
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [meta.db_table, meta.pk.column, len(values)],
    )
    ids = sorted(row[0] for row in cursor.fetchall())
    fields = {field.attname: field for field in meta.concrete_fields}
    names = ", ".join(
        quote(name) for name in [meta.pk.column, *(fields[c].column for c in columns)]
    )
    with cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
        for pk, row in zip(ids, values, strict=True):
            copy.write_row(
                [
                    pk,
                    *(
                        prepare[name](row[name]) if name in prepare else row[name]
                        for name in columns
                    ),
                ]
            )
    return ids


# columns whose Python value needs converting for the database driver
_PREPARED = ("kind", "value_date", "metadata", "batch", "expires_at", "created_at")


def _preparer(model_field: Any, conn: Any) -> Any:
    """value -> database value for one column, remembering each distinct value's result
    (dates, the batch id and the timestamp repeat across a batch); metadata is prepared per
    row except the common empty object."""
    if model_field.attname == "metadata":
        empty = model_field.get_db_prep_save({}, conn)

        def metadata(value: Any) -> Any:
            return empty if value == {} else model_field.get_db_prep_save(value, conn)

        return metadata
    if model_field.attname == "kind":
        return str  # a TransferKind member: its plain value
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        if value is None:
            return None
        if value not in seen:
            seen[value] = model_field.get_db_prep_save(value, conn)
        return seen[value]

    return cached


# ------------------------------------------------------------------------ posting


def _check_batch(specs: Sequence[TransferSpec]) -> None:
    if not specs:
        raise InvalidTransfer(fields={"transfers": _("Give at least one transfer.")})
    if len(specs) > MAX_BATCH:
        raise InvalidTransfer(
            fields={"transfers": _("At most %(max)s transfers per batch.") % {"max": MAX_BATCH}}
        )


def _choose_shards(
    specs: Sequence[TransferSpec], chooser: random.Random
) -> tuple[dict[int, Account], dict[int, int]]:
    """Every account the specs touch by id, and the one shard of each this posting uses."""
    accounts: dict[int, Account] = {}
    shard_of: dict[int, int] = {}
    for spec in specs:
        for account in (spec.debit_account, spec.credit_account):
            if account.pk not in accounts:
                accounts[account.pk] = account
                shard_of[account.pk] = _shard_for(account, chooser)
    return accounts, shard_of


def _apply(
    specs: Sequence[TransferSpec],
    rows: Mapping[tuple[int, int], Balance],
    shard_of: Mapping[int, int],
    *,
    actor: Any,
    batch: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """Add each transfer to the locked shard rows (pending or posted totals) and answer the
    transfer rows to insert."""
    now = timezone.now()
    actor_id = getattr(actor, "pk", None)
    transfers: list[dict[str, Any]] = []
    for spec in specs:
        debit_pair = (spec.debit_account.pk, shard_of[spec.debit_account.pk])
        credit_pair = (spec.credit_account.pk, shard_of[spec.credit_account.pk])
        debit_row, credit_row = rows[debit_pair], rows[credit_pair]
        if spec.pending:
            debit_row.debits_pending += spec.amount
            credit_row.credits_pending += spec.amount
        else:
            debit_row.debits_posted += spec.amount
            credit_row.credits_posted += spec.amount
        transfers.append(
            {
                "idempotency_key": spec.idempotency_key or new_key(),
                "kind": TransferKind.PENDING if spec.pending else TransferKind.POSTED,
                "debit_account_id": debit_pair[0],
                "credit_account_id": credit_pair[0],
                "debit_shard": debit_pair[1],
                "credit_shard": credit_pair[1],
                "asset_id": spec.debit_account.asset_id,
                "amount": spec.amount,
                "reference": spec.reference or "",
                "value_date": spec.value_date,
                "metadata": dict(spec.metadata or {}),
                "pending_id": None,
                "reverses_id": spec.reverses.pk if spec.reverses is not None else None,
                "batch": batch,
                "expires_at": spec.expires_at if spec.pending else None,
                "approval_request_id": spec.approval_request_id,
                "created_at": now,
                "created_by_id": actor_id,
            }
        )
    return transfers


def post(
    specs: Sequence[TransferSpec],
    *,
    actor: Any,
    batch: uuid.UUID | None = None,
    chooser: random.Random | None = None,
    before_posting: Callable[[Sequence[TransferSpec]], None] | None = None,
) -> Posted:
    """Post `specs` all-or-nothing inside the caller's transaction. A replay of stored keys
    returns the stored transfers. `before_posting` is called with the validated specs of a new
    posting, before any balance is locked, and may change them (make one a hold, give it a key
    or an approval request); it is not called for a replay."""
    require_transaction()
    _check_batch(specs)
    closed = closed_through()
    stored = find_replay(specs)
    if stored is not None:
        return Posted(transfers=stored, replayed=True)
    day = today()
    for spec in specs:
        if spec.value_date is None:
            spec.value_date = day
    _validate(specs, closed)
    if before_posting is not None:
        before_posting(specs)
    accounts, shard_of = _choose_shards(
        specs,
        chooser or random.Random(),  # noqa: S311 - spreads load, not a secret
    )
    rows = lock_balances((pk, shard_of[pk]) for pk in accounts)
    transfers = _apply(specs, rows, shard_of, actor=actor, batch=batch)
    _check_no_negative(rows, accounts, set(rows))
    try:
        with transaction.atomic():
            created = _insert_transfers(transfers, specs)
    except IntegrityError:
        # a concurrent request stored one of the keys first: answer as the replay it is
        stored = find_replay(specs)
        if stored is None:
            raise
        return Posted(transfers=stored, replayed=True)
    _write_balances(rows.values())
    return Posted(transfers=created, replayed=False)


def resolve(
    pending: Transfer, *, post_it: bool, actor: Any, metadata: Mapping | None = None
) -> Transfer:
    """Post or void a hold: a new row linked to it moves the amount out of the pending totals
    (and, when posting, into the posted totals) on the shards the hold used."""
    require_transaction()
    locked = Transfer.objects.select_for_update().get(pk=pending.pk)
    if locked.kind != TransferKind.PENDING or Transfer.objects.filter(pending=locked).exists():
        raise NotPending(fields={"transfer": str(locked.pk)})
    day = today()
    if post_it:
        closed = closed_through()
        if closed is not None and day <= closed:
            raise PeriodClosed(fields={"value_date": day.isoformat()})
    debit_pair = (locked.debit_account_id, locked.debit_shard)
    credit_pair = (locked.credit_account_id, locked.credit_shard)
    rows = lock_balances([debit_pair, credit_pair])
    debit_row, credit_row = rows[debit_pair], rows[credit_pair]
    debit_row.debits_pending -= locked.amount
    credit_row.credits_pending -= locked.amount
    if post_it:
        debit_row.debits_posted += locked.amount
        credit_row.credits_posted += locked.amount
    try:
        with transaction.atomic():
            resolution = Transfer.objects.create(
                idempotency_key=f"{'post' if post_it else 'void'}:{locked.idempotency_key}"[:80],
                kind=TransferKind.POST_PENDING if post_it else TransferKind.VOID_PENDING,
                debit_account_id=locked.debit_account_id,
                credit_account_id=locked.credit_account_id,
                debit_shard=locked.debit_shard,
                credit_shard=locked.credit_shard,
                asset_id=locked.asset_id,
                amount=locked.amount,
                reference=locked.reference,
                value_date=day,
                metadata=dict(metadata or {}),
                pending=locked,
                created_at=timezone.now(),
                created_by_id=getattr(actor, "pk", None),
            )
    except IntegrityError as exc:  # resolved concurrently; the row lock makes this rare
        raise NotPending(fields={"transfer": str(locked.pk)}) from exc
    _write_balances([debit_row, credit_row])
    return resolution
