"""Scoped reads of retail records. Every function takes the acting user first; scope follows the
purchase's customer (registered in RetailConfig.ready())."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Prefetch, QuerySet, Sum
from django.utils import timezone

from cpms.access.scopes import get_for_user, scoped
from cpms.customers.models import Customer
from cpms.customers.selectors import customer_get_for_user
from cpms.retail.models import (
    VIEW_PERMISSION,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    PurchaseReturnLine,
)

SUMMARY_DAYS = 365


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def purchase_list(
    *,
    user: Any,
    customer: int | None = None,
    store: str | None = None,
    channel: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[Purchase]:
    """Purchases the user may see; `date_from`/`date_to` are local days, both included."""
    purchases = scoped(Purchase.objects.all(), user=user, permission=permission)
    if customer:
        purchases = purchases.filter(customer_id=customer)
    if store:
        purchases = purchases.filter(store_code=store.strip().upper())
    if channel:
        purchases = purchases.filter(channel=channel)
    if date_from:
        purchases = purchases.filter(purchased_at__gte=_day_start(date_from))
    if date_to:
        next_day = date_to + datetime.timedelta(days=1)
        purchases = purchases.filter(purchased_at__lt=_day_start(next_day))
    return purchases.select_related("customer")


def purchase_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Purchase:
    """One purchase; NotFound when it is missing or outside the user's scope."""
    return get_for_user(
        Purchase.objects.select_related("customer", "recorded_by"),
        user=user,
        pk=pk,
        permission=permission,
    )


def purchase_get_by_reference(
    *, user: Any, reference: str, permission: str = VIEW_PERMISSION
) -> Purchase | None:
    """The purchase with this receipt number if the user may see it (bulk import looks up its
    natural key here)."""
    return (
        scoped(Purchase.objects.all(), user=user, permission=permission)
        .select_related("customer")
        .filter(reference=reference.strip())
        .first()
    )


def purchase_lines(*, purchase: Purchase) -> list[PurchaseLine]:
    """The lines of a purchase the caller fetched through scope, each with `returned_quantity`."""
    lines = list(
        PurchaseLine.objects.filter(purchase=purchase)
        .annotate(returned_total=Sum("returned__quantity"))
        .order_by("line_number")
    )
    for line in lines:
        line.returned_quantity = line.returned_total or 0
    return lines


def return_list(*, user: Any, purchase: Purchase) -> QuerySet[PurchaseReturn]:
    """Returns and exchanges of a purchase, oldest first, with their lines."""
    returns = scoped(PurchaseReturn.objects.all(), user=user, permission=VIEW_PERMISSION)
    return (
        returns.filter(purchase=purchase)
        .select_related("replacement", "recorded_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PurchaseReturnLine.objects.select_related("line").order_by(
                    "line__line_number"
                ),
            )
        )
        .order_by("returned_at", "pk")
    )


def purchase_refunded(*, purchase: Purchase) -> int:
    return purchase.returns.aggregate(total=Sum("refund_minor"))["total"] or 0


def purchase_as_data(purchase: Purchase) -> dict[str, Any]:
    """A recorded purchase in the input shape of `purchase_record` (for export, and for bulk
    import to tell an unchanged row from a changed one)."""
    return {
        "customer_number": purchase.customer.customer_number,
        "reference": purchase.reference,
        "purchased_at": timezone.localtime(purchase.purchased_at),
        "channel": purchase.channel,
        "store_code": purchase.store_code,
        "currency": purchase.currency,
        "total_minor": purchase.total_minor,
        "note": purchase.note,
        "lines": [
            {
                "category": line.category,
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount_minor": line.unit_amount_minor,
                "amount_minor": line.amount_minor,
            }
            for line in purchase.lines.order_by("line_number")
        ],
    }


@dataclass(frozen=True)
class PurchaseSummary:
    """A customer's purchases at a glance. Amounts are per currency (minor units); the ledger
    issue derives loyalty tiers from `net_spend_12m`."""

    purchase_count: int
    purchase_count_12m: int
    spend_12m: dict[str, int] = field(default_factory=dict)
    refunds_12m: dict[str, int] = field(default_factory=dict)
    net_spend_12m: dict[str, int] = field(default_factory=dict)
    return_count: int = 0
    exchange_count: int = 0
    last_purchase_at: datetime.datetime | None = None


def customer_purchase_summary(
    *, user: Any, customer: Customer | int, now: datetime.datetime | None = None
) -> PurchaseSummary:
    """Count of purchases, spend in the last 12 months (purchases made in the window, refunds
    of returns made in the window) and returns, for a customer inside the user's scope."""
    customer = customer_get_for_user(user=user, pk=getattr(customer, "pk", customer))
    since = (now or timezone.now()) - datetime.timedelta(days=SUMMARY_DAYS)
    purchases = scoped(Purchase.objects.all(), user=user, permission=VIEW_PERMISSION).filter(
        customer=customer
    )
    totals = purchases.aggregate(count=Count("pk"), last=Max("purchased_at"))
    spend = {
        row["currency"]: row["total"]
        for row in purchases.filter(purchased_at__gte=since)
        .values("currency")
        .annotate(total=Sum("total_minor"), count=Count("pk"))
        .order_by("currency")
    }
    count_12m = purchases.filter(purchased_at__gte=since).count()
    returns = PurchaseReturn.objects.filter(purchase__in=purchases)
    kinds = dict(returns.values("kind").annotate(count=Count("pk")).values_list("kind", "count"))
    refunds = {
        row["purchase__currency"]: row["total"]
        for row in returns.filter(returned_at__gte=since)
        .values("purchase__currency")
        .annotate(total=Sum("refund_minor"))
        .order_by("purchase__currency")
    }
    net = {
        currency: spend.get(currency, 0) - refunds.get(currency, 0)
        for currency in sorted(set(spend) | set(refunds))
    }
    return PurchaseSummary(
        purchase_count=totals["count"],
        purchase_count_12m=count_12m,
        spend_12m=spend,
        refunds_12m=refunds,
        net_spend_12m=net,
        return_count=kinds.get("return", 0),
        exchange_count=kinds.get("exchange", 0),
        last_purchase_at=totals["last"],
    )
