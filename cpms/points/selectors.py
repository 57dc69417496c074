"""Scoped reads of loyalty points: members with balances, a customer's balance, tier, lots
with their remainders and expiry, history, and the earn rules. Reading needs `retail.view`
and the customer in scope (out of scope looks like missing)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.core.errors import NotFound
from cpms.customers.models import Customer
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.ledger.selectors import account_balance, balances_for
from cpms.points import services
from cpms.points.choices import ASSET, VIEW_PERMISSION, EventKind
from cpms.points.models import PointsLot, PointsMember, PointsRule, PointsShortfall


@dataclass(frozen=True)
class LotRow:
    lot: PointsLot
    remaining: int
    expired: bool


@dataclass(frozen=True)
class HistoryRow:
    transfer_id: int
    kind: str
    kind_label: str
    points: int  # + into the customer's account, - out of it
    reference: str
    value_date: datetime.date
    created_at: datetime.datetime


@dataclass(frozen=True)
class TierInfo:
    code: str
    name: str
    multiplier: str
    spend_minor: int
    currency: str
    next_code: str | None
    next_threshold_minor: int | None


def customer_get(*, user: Any, customer_id: Any, permission: str = VIEW_PERMISSION) -> Customer:
    require_permission(user, permission)
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound(_not_found()) from None
    customer = (
        scoped(Customer.objects.all(), user=user, permission=permission).filter(pk=pk).first()
    )
    if customer is None:
        raise NotFound(_not_found(), fields={"customer_id": str(customer_id)})
    return customer


def _not_found() -> str:
    return _("No customer has this id.")


def member_list(*, user: Any, query: str = "") -> QuerySet[PointsMember]:
    require_permission(user, VIEW_PERMISSION)
    members = scoped(
        PointsMember.objects.select_related("customer"), user=user, permission=VIEW_PERMISSION
    )
    text = (query or "").strip()
    if text:
        members = members.filter(
            Q(customer__customer_number__icontains=text) | Q(customer__legal_name__icontains=text)
        )
    return members


def points_account(customer: Customer | int) -> Account | None:
    return (
        Account.objects.filter(
            customer_id=getattr(customer, "pk", customer),
            purpose=AccountPurpose.CUSTOMER_POINTS,
            asset__code=ASSET,
        )
        .order_by("pk")
        .first()
    )


def balance(customer: Customer | int) -> int:
    account = points_account(customer)
    return account_balance(account).posted if account is not None else 0


def member_balances(members: list[PointsMember]) -> dict[int, int]:
    """customer id -> points balance, in two queries (list pages)."""
    accounts = list(
        Account.objects.filter(
            customer_id__in=[member.customer_id for member in members],
            purpose=AccountPurpose.CUSTOMER_POINTS,
            asset__code=ASSET,
        )
    )
    totals = balances_for(accounts)
    result: dict[int, int] = {}
    for account in accounts:
        result[account.customer_id] = result.get(account.customer_id, 0) + totals[account.pk].posted
    return result


def lot_list(customer: Customer | int, *, as_of: datetime.date | None = None) -> list[LotRow]:
    """Every lot of the customer (earliest expiry first) with its remainder."""
    today = as_of or services._common._today()
    lots = (
        PointsLot.objects.filter(customer_id=getattr(customer, "pk", customer))
        .select_related("purchase")
        .annotate(used=Coalesce(Sum("uses__points"), 0))
        .order_by("expires_on", "earned_on", "pk")
    )
    return [LotRow(lot, lot.points - lot.used, lot.expires_on <= today) for lot in lots]


def available(customer: Customer | int, *, as_of: datetime.date | None = None) -> int:
    """Points that can be redeemed today: remainders of lots not yet expired."""
    return sum(row.remaining for row in lot_list(customer, as_of=as_of) if not row.expired)


def history(customer: Customer | int, *, limit: int = 200) -> list[HistoryRow]:
    """Earn, redeem, expire, adjust and reverse postings of the customer, newest first."""
    account = points_account(customer)
    if account is None:
        return []
    transfers = (
        Transfer.objects.filter(Q(debit_account=account) | Q(credit_account=account))
        .order_by("-created_at", "-pk")
        .only("pk", "amount", "credit_account_id", "metadata", "reference", "value_date")
    )[:limit]
    labels = dict(EventKind.choices)
    rows = []
    for transfer in transfers:
        kind = str((transfer.metadata or {}).get("points_event", ""))
        sign = 1 if transfer.credit_account_id == account.pk else -1
        rows.append(
            HistoryRow(
                transfer_id=transfer.pk,
                kind=kind,
                kind_label=str(labels.get(kind, kind or "-")),
                points=sign * transfer.amount,
                reference=transfer.reference,
                value_date=transfer.value_date,
                created_at=transfer.created_at,
            )
        )
    return rows


def customer_tier(
    customer: Customer | int, as_of: datetime.datetime | datetime.date | None = None
) -> TierInfo | None:
    """The tier the rolling 12-month net spend (365 days before `as_of`; a date means the end
    of that local day) gives under the active CNY rule; None without a rule."""
    rule = services.active_rule("CNY")
    if rule is None or not rule.tiers:
        return None
    if as_of is None:
        moment = timezone.now()
    elif isinstance(as_of, datetime.datetime):
        moment = as_of
    else:
        moment = timezone.make_aware(
            datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time())
        )
    spend = services.rolling_spend(getattr(customer, "pk", customer), rule.currency, before=moment)
    tier = services.tier_for_spend(rule, spend)
    tiers = services.sorted_tiers(rule)
    higher = [row for row in tiers if int(row["threshold_minor"]) > int(tier["threshold_minor"])]
    return TierInfo(
        code=str(tier["code"]),
        name=str(tier.get("name") or tier["code"]),
        multiplier=str(tier["multiplier"]),
        spend_minor=spend,
        currency=rule.currency,
        next_code=str(higher[0]["code"]) if higher else None,
        next_threshold_minor=int(higher[0]["threshold_minor"]) if higher else None,
    )


def shortfalls(customer: Customer | int) -> QuerySet[PointsShortfall]:
    return PointsShortfall.objects.filter(customer_id=getattr(customer, "pk", customer)).order_by(
        "-pk"
    )


def overview(*, user: Any, customer_id: Any) -> dict[str, Any]:
    """Everything the customer page and the API show."""
    customer = customer_get(user=user, customer_id=customer_id)
    member = PointsMember.objects.filter(customer=customer).first()
    lots = lot_list(customer)
    return {
        "customer": customer,
        "member": member,
        "balance": balance(customer),
        "available": sum(row.remaining for row in lots if not row.expired),
        "tier": customer_tier(customer),
        "stored_tier": member.tier if member else None,
        "lots": lots,
    }


def rule_list(*, user: Any) -> QuerySet[PointsRule]:
    require_permission(user, VIEW_PERMISSION)
    return PointsRule.objects.order_by("currency")
