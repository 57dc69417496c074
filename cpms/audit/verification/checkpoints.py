"""Verification of the signed checkpoints: which ones verify with a known key (current or
retired master key), the dates they bound, whether each genuine one still matches the log and
follows the previous one, and, given a witness file, whether the database still holds the
checkpoints kept there unchanged."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings

from cpms.audit import signing
from cpms.audit.models import AuditCheckpoint
from cpms.audit.verification._shared import Problem, VerifyResult, _describe
from cpms.audit.witness import WitnessRecord

if TYPE_CHECKING:
    from cpms.audit.verification.scan import _Scanner

# a checkpoint as the checks read it
CheckpointRow = tuple[Any, ...]  # (pk, tree_size, root_hash, created_at, key_id, signature)


def checkpoint_rows() -> list[CheckpointRow]:
    """Every checkpoint in the order it was written."""
    return list(
        AuditCheckpoint.objects.order_by("pk").values_list(
            "pk", "tree_size", "root_hash", "created_at", "key_id", "signature"
        )
    )


def known_public_keys() -> dict[str, bytes]:
    """Public keys of the current and retired master keys, by key id."""
    masters = [bytes(settings.CPMS_MASTER_KEY)]
    masters += [bytes(key) for key in getattr(settings, "CPMS_MASTER_KEYS_RETIRED", []) or []]
    return dict(_public_keys_of(tuple(masters)))


@functools.lru_cache(maxsize=8)
def _public_keys_of(masters: tuple[bytes, ...]) -> tuple[tuple[str, bytes], ...]:
    """The public key of each master key by key id (cached: deriving them is slow)."""
    keys = {}
    for master in masters:
        public = signing.public_key_bytes(signing.private_key_from_master(master))
        keys[signing.key_id(public)] = public
    return tuple(keys.items())


def genuine_checkpoints(checkpoints: list[CheckpointRow]) -> set[int]:
    """Ids of the checkpoints whose signature verifies with a known key."""
    keys = known_public_keys()
    genuine = set()
    for pk, tree_size, root_hash, created_at, key_id, signature in checkpoints:
        public = keys.get(key_id)
        message = signing.checkpoint_message(tree_size, root_hash, created_at)
        if public is not None and signing.signature_valid(message, signature, public):
            genuine.add(pk)
    return genuine


def date_bounds(
    checkpoints: list[CheckpointRow], genuine: set[int], settle: timedelta
) -> list[tuple[int, datetime, int]]:
    """(size, earliest allowed time, checkpoint id) by increasing size: a leaf at a sequence at
    or above `size` was sealed after that checkpoint (or a later-signed smaller one), so its
    entry cannot be dated before the checkpoint's time minus the settle delay."""
    bounds: list[tuple[int, datetime, int]] = []
    newest: tuple[datetime, int] | None = None
    for pk, tree_size, _root, created_at, _key, _signature in sorted(
        (row for row in checkpoints if row[0] in genuine), key=lambda row: (row[1], row[0])
    ):
        if newest is None or created_at > newest[0]:
            newest = (created_at, pk)
        bounds.append((tree_size, newest[0] - settle, newest[1]))
    return bounds


def check_checkpoints(
    result: VerifyResult,
    scanner: _Scanner,
    checkpoints: list[CheckpointRow],
    genuine: set[int],
    roots_at: dict[int, str],
    size: int,
) -> None:
    """Each genuine checkpoint must give the log's root at its size and follow the previous
    genuine one (size and time never going back, matching or not matching together); a forged
    one is named and otherwise ignored. A checkpoint larger than the log is the entry-level
    problem `truncated` (through the scanner, unless an earlier problem was found)."""
    previous: tuple[Any, ...] | None = None
    previous_matches = True
    truncated_reported = False
    for pk, tree_size, root_hash, created_at, _key_id, _signature in checkpoints:
        if pk not in genuine:
            result.problems.append(
                Problem(
                    "checkpoint",
                    f"checkpoint #{pk} (size {tree_size}) has an invalid signature: forged",
                    checkpoints=(pk,),
                )
            )
            continue  # a forged checkpoint proves nothing; compare the genuine ones only
        if tree_size > size:
            if not truncated_reported:
                truncated_reported = True
                last_id = scanner.recent[-1][1] if scanner.recent else None
                if not scanner.found:
                    scanner.report(
                        "truncated",
                        f"checkpoint #{pk} covers {tree_size} leaves but only {size} remain: "
                        f"the entries after {_describe(last_id)} (sequence {size} on) were "
                        "deleted",
                        last_id,
                        size,
                    )
            matches = False
        else:
            matches = roots_at.get(tree_size) == root_hash
            if not matches:
                result.problems.append(
                    Problem(
                        "checkpoint",
                        f"checkpoint #{pk} (size {tree_size}) does not match the log: the "
                        f"leaves before sequence {tree_size} were changed",
                        checkpoints=(pk,),
                    )
                )
        if previous is not None:
            before_pk, before_size, _root, before_time = previous[:4]
            if (
                tree_size < before_size
                or created_at < before_time
                or (previous_matches != matches and tree_size <= size)
            ):
                result.problems.append(
                    Problem(
                        "checkpoint",
                        f"checkpoints #{before_pk} (size {before_size}) and #{pk} (size "
                        f"{tree_size}) are not consistent: they cannot both describe one "
                        "append-only log",
                        checkpoints=(before_pk, pk),
                    )
                )
        previous = (pk, tree_size, root_hash, created_at)
        previous_matches = matches
    # entry-level problems first, checkpoint problems after (stable order for readers)
    result.problems.sort(key=lambda problem: problem.kind == "checkpoint")


def check_witness(
    result: VerifyResult,
    witness: list[tuple[int, WitnessRecord | None]],
    checkpoints: list[CheckpointRow],
    roots_at: dict[int, str],
    size: int,
) -> None:
    """Every checkpoint in the witness file must be in the database unchanged, and the log must
    still have its root at its size; a database checkpoint older than the newest witnessed one
    but absent from the file was added afterwards."""
    keys = known_public_keys()
    stored = {row[0]: row for row in checkpoints}
    witnessed: set[int] = set()
    result.witnessed = 0
    for line, record in witness:
        if record is None:
            result.problems.append(
                Problem("witness", f"witness line {line} is not a checkpoint record")
            )
            continue
        result.witnessed += 1
        pk = record.checkpoint_id
        public = keys.get(record.key_id)
        if public is None or not signing.signature_valid(
            record.signed_message(), record.signature, public
        ):
            result.problems.append(
                Problem(
                    "witness",
                    f"witness line {line} (checkpoint #{pk}) is not signed by a known key",
                )
            )
            continue
        witnessed.add(pk)
        for problem in (
            _witness_against_database(record, stored.get(pk)),
            _witness_against_log(record, roots_at, size),
        ):
            if problem is not None:
                result.problems.append(problem)
    _witness_added_afterwards(result, stored, witnessed)


def _witness_against_database(record: WitnessRecord, row: CheckpointRow | None) -> Problem | None:
    """A witnessed checkpoint missing from the database or stored differently."""
    pk = record.checkpoint_id
    if row is None:
        return Problem(
            "witness",
            f"checkpoint #{pk} (size {record.tree_size}, signed {record.time}) is in "
            "the witness but missing from the database",
            checkpoints=(pk,),
        )
    if (row[1], row[2], signing.format_time(row[3]), row[4], row[5]) != (
        record.tree_size,
        record.root_hash,
        record.time,
        record.key_id,
        record.signature,
    ):
        return Problem(
            "witness",
            f"checkpoint #{pk} in the database differs from the witness (size "
            f"{record.tree_size}, root {record.root_hash}, signed {record.time})",
            checkpoints=(pk,),
        )
    return None


def _witness_against_log(
    record: WitnessRecord, roots_at: dict[int, str], size: int
) -> Problem | None:
    """The log must still hold the witnessed checkpoint's leaves and give its root."""
    pk = record.checkpoint_id
    if record.tree_size > size:
        return Problem(
            "witness",
            f"witnessed checkpoint #{pk} covers {record.tree_size} leaves but only "
            f"{size} remain: the entries from sequence {size} on were deleted",
            sequence=size,
            checkpoints=(pk,),
        )
    if roots_at.get(record.tree_size) != record.root_hash:
        return Problem(
            "witness",
            f"the log no longer matches witnessed checkpoint #{pk} (size "
            f"{record.tree_size}): the leaves before sequence {record.tree_size} were "
            "changed",
            checkpoints=(pk,),
        )
    return None


def _witness_added_afterwards(
    result: VerifyResult, stored: dict[int, CheckpointRow], witnessed: set[int]
) -> None:
    """Database checkpoints older than the newest witnessed one but not in the witness."""
    newest = max(witnessed, default=None)
    if newest is not None:
        for pk in sorted(set(stored) - witnessed):
            if pk < newest:
                result.problems.append(
                    Problem(
                        "witness",
                        f"checkpoint #{pk} is in the database but not in the witness: added "
                        "afterwards",
                        checkpoints=(pk,),
                    )
                )
