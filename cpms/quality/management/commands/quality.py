"""`cpms quality scan|summary`: the duplicate scan and the data-quality summary from the command
line. `--actor NAME` acts as that user (their permission and scope; the summary needs a scope
over every customer); without it the command acts as the system, like the nightly job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.quality import matching, services
from cpms.users.models import User


class Command(BaseCommand):
    help = "Scan for possible duplicate customers, or write the data-quality summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=None, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("scan", help="Find possible duplicates (new pairs join the queue).")
        summary = actions.add_parser("summary", help="Write today's data-quality summary.")
        summary.add_argument(
            "--scan", action="store_true", help="Scan for duplicates first (as the nightly job)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["actor"]:
            actor = User.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            if options["action"] == "scan":
                report = services.duplicate_scan(actor=actor)
                self.stdout.write(
                    f"customers scanned: {report.customers}\n"
                    f"new possible duplicates: {report.flagged}\n"
                    f"refreshed: {report.refreshed}\n"
                    f"blocks skipped (over {matching.MAX_BLOCK}): {report.skipped_blocks}"
                )
            else:
                if options["scan"]:
                    services.duplicate_scan(actor=actor)
                summary = services.quality_summary_write(actor=actor)
                self.stdout.write(
                    f"day: {summary.day.isoformat()}\n"
                    f"customers: {summary.customers}\n"
                    f"average completeness: {summary.average_completeness}\n"
                    f"open possible duplicates: {summary.open_duplicates}\n"
                    f"stale records: {summary.stale}"
                )
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
