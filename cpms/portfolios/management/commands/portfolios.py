"""`cpms portfolios trades import FILE --actor U`: book the trades of a CSV file,
all-or-nothing (columns: portfolio, side, instrument_code, quantity, price, currency,
fee_minor, trade_date, settlement_date, reference, idempotency_key; `portfolio` is the property
number). Exits non-zero with every refused row when anything is wrong; nothing is booked then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.core.errors import CpmsError
from cpms.portfolios import services
from cpms.users.models import User


class Command(BaseCommand):
    help = "Portfolio trading: import trades from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", required=True, help="Act as this user (ledger.post).")
        areas = parser.add_subparsers(dest="area", required=True)
        trades = areas.add_parser("trades", help="Trades.")
        actions = trades.add_subparsers(dest="action", required=True)
        importing = actions.add_parser("import", help="Book the trades of a CSV file.")
        importing.add_argument("file", help="CSV file (UTF-8, header row).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {options['actor']!r}.")
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            outcomes = services.trades_import(actor=actor, content=content)
        except CpmsError as exc:
            lines = [exc.message, *(f"  {key}: {value}" for key, value in exc.fields.items())]
            raise CommandError("\n".join(lines)) from exc
        booked = sum(1 for outcome in outcomes if not outcome.replayed)
        self.stdout.write(
            f"{booked} trades booked, {len(outcomes) - booked} already booked (replays)."
        )
