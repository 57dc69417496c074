"""`cpms keys status|rotate`: master-key rotation without downtime (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.privacy import selectors, services


class Command(BaseCommand):
    help = "Show data keys per master key, or re-wrap them under the current master key."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="Data keys per master key id.")
        rotate = actions.add_parser(
            "rotate",
            help="Re-wrap every data key still under a retired master key (safe while running; "
            "resumable).",
        )
        rotate.add_argument(
            "--batch-size", type=int, default=200, help="Keys per transaction (default 200)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _status(self, options: dict[str, Any]) -> None:
        status = selectors.key_status(None)
        self.stdout.write(f"current master key: {status.current_master_key_id}")
        retired = ", ".join(status.retired_master_key_ids) or "-"
        self.stdout.write(f"retired master keys configured: {retired}")
        self.stdout.write(f"{'master key id':<18} {'state':<9} data keys")
        for row in status.by_master_key:
            self.stdout.write(f"{row.master_key_id:<18} {row.configured:<9} {row.data_keys}")
        self.stdout.write(
            f"live: {status.live}  destroyed: {status.destroyed}  "
            f"waiting for rotation: {status.pending_rotation}"
        )

    def _rotate(self, options: dict[str, Any]) -> None:
        report = services.data_keys_rotate(actor=None, batch_size=options["batch_size"])
        moved = ", ".join(f"{key}: {count}" for key, count in report.rotated_from.items()) or "-"
        self.stdout.write(
            f"re-wrapped {report.rotated} data keys in {report.batches} batches "
            f"under {report.current_master_key_id} (from {moved})"
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} data keys could not be unwrapped (master key missing or "
                f"key altered): {', '.join(report.failed[:20])}. Configure the missing key in "
                "CPMS_MASTER_KEYS_RETIRED and run again."
            )
