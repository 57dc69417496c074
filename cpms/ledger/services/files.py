"""Posting a file of transfers (`cpms ledger post`): the rows go in consecutive batches of at
most `engine.MAX_BATCH`, all inside one transaction, so the file posts whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from cpms.core.errors import CpmsError
from cpms.ledger import engine
from cpms.ledger.choices import TransferKind
from cpms.ledger.services.transfers import transfers_post
from cpms.ledger.transfer_files import TransferRow, refused


@dataclass
class FilePosted:
    """What posting the file did (or, for a dry run, would do)."""

    count: int
    batches: int = 0
    posted: int = 0
    held: int = 0
    replayed: int = 0
    dry_run: bool = False


class _DryRun(Exception):
    """Rolls back a checked dry run."""


def _row_problems(exc: CpmsError, rows: Sequence[TransferRow]) -> list[str]:
    """Name the file line of each `transfers[i].field` the services reported for the batch
    `rows`."""
    if not exc.fields:
        return [f"[{exc.code}] {exc.message}"]
    problems = []
    for key, value in exc.fields.items():
        where = key
        if key.startswith("transfers[") and "]" in key:
            index = int(key[len("transfers[") : key.index("]")])
            rest = key[key.index("]") + 1 :].lstrip(".")
            where = f"line {rows[index].line}: {rest or '-'}"
        elif len(rows) == 1:  # a batch of one reports bare field names
            where = f"line {rows[0].line}: {key}"
        problems.append(f"[{exc.code}] {where}: {value}")
    return problems


def _post_batches(actor: Any, rows: Sequence[TransferRow], reason: str, result: FilePosted) -> None:
    """Each batch through `transfers_post` (permission, scope, approvals, one audit entry per
    batch); a refusal of any batch refuses the file, naming its lines."""
    size = engine.MAX_BATCH
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        try:
            outcome = transfers_post(actor=actor, items=[row.item for row in chunk], reason=reason)
        except CpmsError as exc:
            raise refused(_row_problems(exc, chunk)) from exc
        result.batches += 1
        count = len(outcome.transfers)
        if outcome.replayed:
            result.replayed += count
        else:
            result.posted += count
            result.held += sum(1 for t in outcome.transfers if t.kind == TransferKind.PENDING)


def transfer_file_post(
    *, actor: Any, rows: Sequence[TransferRow], reason: str = "", dry_run: bool = False
) -> FilePosted:
    """Post the checked rows of a file (`transfer_files.transfer_file_read`) all-or-nothing.
    A refusal raises `TransferFileRefused` with one problem per line and field. `dry_run`:
    post everything, then roll it all back (nothing written, no audit entry)."""
    result = FilePosted(count=len(rows), dry_run=dry_run)
    try:
        with transaction.atomic():
            _post_batches(actor, rows, reason, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result
