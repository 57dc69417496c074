"""`cpms points expire [--as-of YYYY-MM-DD]`: expire every lot whose expiry date has come
(what the daily job does). Idempotent: a lot expires once. Exits 1 with a message when the
date is not valid or lies in the future."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.points import services


class Command(BaseCommand):
    help = "Loyalty points: expire the lots whose expiry date has come."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        expire = actions.add_parser("expire", help="Expire lots due on or before a date.")
        expire.add_argument(
            "--as-of", default=None, help="Expire lots due on or before this date (default today)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._expire(options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _expire(self, options: dict[str, Any]) -> None:
        as_of = None
        if options.get("as_of"):
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(
                    f"--as-of: {options['as_of']!r} is not a date (YYYY-MM-DD)."
                ) from None
        count = services.points_expire(actor=None, as_of=as_of)
        self.stdout.write(f"{count} lot(s) expired.")
