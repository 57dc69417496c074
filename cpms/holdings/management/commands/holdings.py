"""`cpms holdings list|prices-import`: the property register from the command line.

`--actor NAME` (required) makes the command act as that user: only property in that user's
scope is listed, and imports are audited under that user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cpms.access.checks import require_permission
from cpms.core.errors import CpmsError
from cpms.core.money import to_major
from cpms.customers import selectors as customer_selectors
from cpms.holdings import selectors, services
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import VIEW_PERMISSION
from cpms.users.models import User

MAX_PRICE_FILE = 200 * 1024 * 1024


class Command(BaseCommand):
    help = "List property in the actor's scope; import instrument prices from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", required=True, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List property.")
        listing.add_argument(
            "--customer",
            action="append",
            default=[],
            help="Customer number (repeatable).",
        )
        listing.add_argument("--kind", choices=HoldingKind.values, default=None)
        listing.add_argument("--status", choices=HoldingStatus.values, default=None)
        listing.add_argument("--search", default=None, help="Search text (as in the console).")
        listing.add_argument("--limit", type=int, default=1000)
        prices = actions.add_parser("prices-import", help="Import instrument prices (CSV).")
        prices.add_argument("file", help="CSV file: instrument_code, price, currency, priced_on")
        prices.add_argument("--source", default="import")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            if options["action"] == "list":
                self._list(actor, options)
            else:
                self._prices_import(actor, options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _list(self, actor: User, options: dict[str, Any]) -> None:
        require_permission(actor, VIEW_PERMISSION)
        customer_ids: list[int] = []
        for number in options["customer"]:
            customer = (
                customer_selectors.customer_list(user=actor)
                .filter(customer_number__iexact=number.strip())
                .first()
            )
            if customer is None:
                raise CommandError(f"No customer {number!r} in your scope.")
            customer_ids.append(customer.pk)
        holdings = selectors.holding_list(
            user=actor, q=options["search"], kind=options["kind"], status=options["status"]
        )
        if customer_ids:
            holdings = holdings.filter(customer_id__in=customer_ids)
        count = 0
        for holding in holdings.order_by("pk")[: max(options["limit"], 0)]:
            value = to_major(holding.value_minor, holding.currency)
            shown = f"{value} {holding.currency}" if value is not None else "-"
            self.stdout.write(
                "\t".join(
                    (
                        holding.holding_number,
                        holding.customer.customer_number,
                        holding.kind,
                        holding.status,
                        holding.identifier,
                        shown,
                        holding.description,
                    )
                )
            )
            count += 1
        self.stderr.write(f"{count} item(s).")

    def _prices_import(self, actor: User, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > MAX_PRICE_FILE:
            raise CommandError("The file is larger than 200 MB.")
        report = services.prices_import(
            actor=actor, content=path.read_bytes(), source=options["source"], filename=path.name
        )
        self.stdout.write(
            f"{report.rows} row(s): {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged."
        )
