"""`cpms loans accrue [--as-of DATE] [--actor USER]`: accrue the interest of every active loan
through DATE (default today). Idempotent: running it again for the same day posts nothing.
Without --actor it runs as the system (like the daily job), over every loan."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.context import acting
from cpms.core.errors import CpmsError
from cpms.loans import services
from cpms.users.models import User


class Command(BaseCommand):
    help = "Loan servicing: accrue interest."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        accrue = actions.add_parser("accrue", help="Accrue interest of every active loan.")
        accrue.add_argument("--as-of", dest="as_of", help="Accrue through this date (YYYY-MM-DD).")
        accrue.add_argument("--actor", help="Act as this user (needs ledger.post; scoped).")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = None
        if options.get("as_of"):
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError:
                text = options["as_of"]
                raise CommandError(f"--as-of: {text!r} is not a YYYY-MM-DD date.") from None
        actor = None
        if options.get("actor"):
            actor = User.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            with acting(channel="cli", user_agent="cpms loans accrue"):
                summary = services.loans_accrue(actor=actor, as_of=as_of)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(
            f"{summary['loans']} loan(s) accrued; {summary['accrued_minor']} minor units "
            "of interest posted in total."
        )
