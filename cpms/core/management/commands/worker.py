"""`cpms worker`: the background job consumer and periodic scheduler (huey)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the job worker and scheduler (huey consumer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=2, help="Worker threads (default 2).")
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="Do not run the periodic scheduler (run it in exactly one worker).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "run_huey",
            workers=options["workers"],
            worker_type="thread",
            periodic=not options["no_periodic"],
        )
