"""`cpms audit seal|verify|prove ID|public-key|consistency`: the tamper-evident audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.audit import selectors, services, witness
from cpms.core.errors import CpmsError


class Command(BaseCommand):
    help = "Seal, verify and prove the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        seal = actions.add_parser("seal", help="Seal settled entries now (and sign if due).")
        seal.add_argument("--batch-size", type=int, default=None)
        seal.add_argument("--settle-seconds", type=float, default=None)
        seal.add_argument(
            "--full",
            action="store_true",
            help="Also count entries refused for being dated before the latest checkpoint.",
        )
        seal.add_argument(
            "--checkpoint",
            choices=("auto", "force", "never"),
            default="auto",
            help="Sign a checkpoint when due (auto), always (force) or not at all.",
        )
        verify = actions.add_parser("verify", help="Recompute everything; exit 1 if tampered.")
        verify.add_argument("--json", action="store_true", help="Print the result as JSON.")
        verify.add_argument(
            "--witness",
            metavar="FILE",
            default=None,
            help="Also compare the checkpoints with this witness file (CPMS_AUDIT_WITNESS_FILE).",
        )
        prove = actions.add_parser("prove", help="Print the inclusion proof of one entry (JSON).")
        prove.add_argument("entry_id", type=int)
        actions.add_parser("public-key", help="Print the checkpoint signing public key.")
        consistency = actions.add_parser("consistency", help="Consistency proof between sizes.")
        consistency.add_argument("old_size", type=int)
        consistency.add_argument("new_size", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.code}: {exc.message} {details}".strip()) from exc

    def _seal(self, options: dict[str, Any]) -> None:
        result = services.audit_seal(
            actor=None,
            batch_size=options["batch_size"],
            settle_seconds=options["settle_seconds"],
            checkpoint=options["checkpoint"],
            full=options["full"],
        )
        if result.busy:
            raise CommandError("Another sealer is running; try again later.")
        self.stdout.write(f"Sealed {result.sealed} entries; tree size {result.tree_size}.")
        if result.refused:
            self.stdout.write(
                f"Refused {result.refused} entr{'y' if result.refused == 1 else 'ies'} dated "
                "before the latest checkpoint: inserted after the fact (see `cpms audit verify`)."
            )
        if result.checkpoint is not None:
            self.stdout.write(
                f"Checkpoint #{result.checkpoint.pk}: size {result.checkpoint.tree_size}, "
                f"root {result.checkpoint.root_hash}"
            )

    def _verify(self, options: dict[str, Any]) -> None:
        records = None
        if options["witness"]:
            try:
                records = witness.read(options["witness"])
            except witness.WitnessUnreadable as exc:
                raise CommandError(str(exc)) from exc
        result = selectors.audit_verify(user=None, witness=records)
        if options["json"]:
            self.stdout.write(json.dumps(result.summary(), indent=2))
        else:
            self.stdout.write(
                f"Checked {result.entries} sealed entries, {result.checkpoints} checkpoints "
                f"in {result.seconds:.2f} s; {result.unsealed} not sealed yet."
            )
            if result.witnessed is not None:
                self.stdout.write(f"Compared with {result.witnessed} witnessed checkpoints.")
            for problem in result.problems:
                self.stdout.write(f"{problem.kind.upper()}: {problem.message}")
        if not result.ok:
            first = result.problems[0]
            raise CommandError(f"The audit trail is NOT intact: {first.message}", returncode=1)
        self.stdout.write(f"Intact. Tree size {result.tree_size}, root {result.root_hash}.")

    def _prove(self, options: dict[str, Any]) -> None:
        proof = selectors.entry_proof(user=None, entry_id=options["entry_id"])
        self.stdout.write(json.dumps(proof, indent=2, ensure_ascii=False))

    def _public_key(self, options: dict[str, Any]) -> None:
        key = selectors.public_key(user=None)
        self.stdout.write(f"Ed25519 key id {key['key_id']}\n{key['public_key']}\n{key['pem']}")

    def _consistency(self, options: dict[str, Any]) -> None:
        proof = selectors.consistency_proof(
            user=None, old_size=options["old_size"], new_size=options["new_size"]
        )
        self.stdout.write(json.dumps(proof, indent=2))
