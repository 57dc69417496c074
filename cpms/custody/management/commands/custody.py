"""`cpms custody overdue|notify --actor U`: the custody jobs from the command line.

`overdue` flags check-outs past their due date (and lists every overdue one); `notify` sends the
pending incident notifications and flags those past their deadline. With `--actor` the command
acts as that user (permission `custody.operate`, their scope); without it, as the system."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.custody import selectors, services
from cpms.users.models import User


class Command(BaseCommand):
    help = "Flag overdue check-outs; send pending incident notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", default=None, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("overdue", help="Flag and list overdue check-outs.")
        actions.add_parser("notify", help="Notify customers of pending incidents.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["actor"]:
            actor = User.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            getattr(self, f"_{options['action']}")(actor)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _overdue(self, actor: User | None) -> None:
        flagged = services.checkout_overdue_flag(actor=actor)
        self.stdout.write(f"flagged {len(flagged)} new overdue check-out(s)")
        if actor is not None:
            for item in selectors.item_overdue(user=actor).order_by("due_back_on", "pk"):
                self.stdout.write(
                    f"{item.holding.holding_number} due {item.due_back_on.isoformat()} "
                    f"{item.checked_out_to}: {item.holding.description}"
                )

    def _notify(self, actor: User | None) -> None:
        result = services.incident_notify_pending(actor=actor)
        self.stdout.write(
            f"notified {len(result['notified'])} incident(s), "
            f"{len(result['late'])} past the deadline"
        )
