"""`cpms purchases list --customer C00000001 --actor U`: a customer's purchases, newest first.

`--actor` is required: the list is scoped to what that user may see (retail.view)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from cpms.access.checks import require_permission
from cpms.core.errors import CpmsError
from cpms.core.money import format_minor
from cpms.customers.selectors import customer_list
from cpms.retail import selectors
from cpms.retail.models import VIEW_PERMISSION
from cpms.users.models import User


class Command(BaseCommand):
    help = "List purchases of a customer (scoped to the acting user)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", required=True, help="Act as this user.")
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List a customer's purchases, newest first.")
        listing.add_argument("--customer", required=True, help="Customer number, e.g. C00000001.")
        listing.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user named {options['actor']!r}.")
        try:
            self._list(actor, options)
        except CpmsError as exc:
            details = "; ".join(f"{key}: {value}" for key, value in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc

    def _list(self, actor: User, options: dict[str, Any]) -> None:
        require_permission(actor, VIEW_PERMISSION)
        number = options["customer"].strip()
        customer = (
            customer_list(user=actor, permission=VIEW_PERMISSION)
            .filter(customer_number=number)
            .first()
        )
        if customer is None:
            raise CommandError(f"No customer {number!r} among those you may see.")
        purchases = selectors.purchase_list(user=actor, customer=customer.pk).order_by(
            "-purchased_at", "-pk"
        )
        limit = max(1, min(options["limit"], 500))
        summary = selectors.customer_purchase_summary(user=actor, customer=customer)
        self.stdout.write(f"{customer.customer_number} {customer.legal_name}")
        for purchase in purchases[:limit]:
            when = timezone.localtime(purchase.purchased_at).strftime("%Y-%m-%d %H:%M")
            where = purchase.store_code or purchase.channel
            total = format_minor(purchase.total_minor, purchase.currency)
            self.stdout.write(f"{purchase.reference:<24} {when}  {where:<10} {total:>18}")
        spend = "; ".join(format_minor(v, c) for c, v in summary.net_spend_12m.items()) or "0"
        self.stdout.write(
            f"{summary.purchase_count} purchase(s); net spend in the last 12 months: {spend}; "
            f"{summary.return_count} return(s), {summary.exchange_count} exchange(s)"
        )
