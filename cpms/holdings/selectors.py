"""Scoped reads of the property register. Every function takes the acting user first; a holding
is visible when its owner customer is (branch, assigned relationship manager, portal self)."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user, scoped
from cpms.audit.models import AuditEntry
from cpms.audit.selectors import entry_list
from cpms.core.errors import NotFound
from cpms.core.money import to_minor
from cpms.holdings.choices import HoldingKind
from cpms.holdings.models import (
    VIEW_PERMISSION,
    AccountDetail,
    ContractDetail,
    DataAssetDetail,
    Holding,
    HoldingValuation,
    InstrumentPrice,
    IntellectualPropertyDetail,
    LoanDetail,
    LoanInstalment,
    MembershipDetail,
    PortfolioPosition,
)
from cpms.privacy.protected import blind_root_or_none, field_of, index_of, pii_masked

OBJECT_TYPE = "holdings.holding"
_ACCOUNT_NUMBER = re.compile(r"^[0-9A-Za-z\s\-]{8,40}$")
DETAIL_RELATIONS = {
    HoldingKind.MEMBERSHIP: (MembershipDetail, ("programme", "member_number", "tier", "joined_on")),
    HoldingKind.INTELLECTUAL_PROPERTY: (
        IntellectualPropertyDetail,
        ("ip_type", "registration_number", "jurisdiction", "expires_on"),
    ),
    HoldingKind.CONTRACT: (
        ContractDetail,
        ("contract_number", "counterparty", "signed_on", "expires_on"),
    ),
    HoldingKind.DATA_ASSET: (
        DataAssetDetail,
        ("category", "system", "record_count", "lawful_basis", "retention_until"),
    ),
}


def _account_number_match(q: str) -> Q | None:
    """Holdings whose account number equals `q`, through the blind index."""
    if not _ACCOUNT_NUMBER.match(q) or not any(ch.isdigit() for ch in q):
        return None
    root = blind_root_or_none()
    if root is None:
        return None
    spec = field_of(AccountDetail, "number")
    compact = re.sub(r"[\s\-]", "", q).upper()
    return Q(**{f"account__{spec.index}": index_of(AccountDetail, "number", compact, root)})


def holding_list(
    *,
    user: Any,
    q: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    customer: int | None = None,
    permission: str = VIEW_PERMISSION,
) -> QuerySet[Holding]:
    """Holdings the user may see. `q` matches the property number or the owner's customer
    number exactly, the identifier, description or owner's name in part, or an account number
    exactly (blind index)."""
    holdings = scoped(Holding.objects.all(), user=user, permission=permission)
    q = unicodedata.normalize("NFKC", q or "").strip()
    if q:
        condition = (
            Q(holding_number__iexact=q)
            | Q(customer__customer_number__iexact=q)
            | Q(identifier__icontains=q)
            | Q(description__icontains=q)
            | Q(customer__legal_name__icontains=q)
        )
        account = _account_number_match(q)
        if account is not None:
            condition |= account
        holdings = holdings.filter(condition)
    if kind:
        holdings = holdings.filter(kind=kind)
    if status:
        holdings = holdings.filter(status=status)
    if customer:
        holdings = holdings.filter(customer_id=customer)
    return holdings.select_related("customer", "custodian")


def holding_get_for_user(*, user: Any, pk: Any, permission: str = VIEW_PERMISSION) -> Holding:
    """One holding; NotFound when it is missing or outside the user's scope."""
    return get_for_user(
        Holding.objects.select_related("customer", "custodian"),
        user=user,
        pk=pk,
        permission=permission,
    )


def valuation_list(*, user: Any, holding: Holding) -> QuerySet[HoldingValuation]:
    """Valuation history, newest valuation date first."""
    holding_get_for_user(user=user, pk=holding.pk)
    return holding.valuations.select_related("recorded_by").order_by("-valued_on", "-pk")


def holding_details(*, user: Any, holding: Holding) -> dict[str, Any] | None:
    """Kind-specific details for display: plain values; an account number only masked."""
    holding_get_for_user(user=user, pk=holding.pk)
    kind = holding.kind
    if kind == HoldingKind.ACCOUNT:
        account = AccountDetail.objects.select_related("holding").filter(holding=holding).first()
        if account is None:
            return None
        return {
            "account_type": account.account_type,
            "institution": account.institution,
            "number_masked": pii_masked(account, "number"),
        }
    if kind == HoldingKind.LOAN:
        loan = LoanDetail.objects.filter(holding=holding).first()
        if loan is None:
            return None
        return {
            "principal_minor": loan.principal_minor,
            "currency": loan.currency,
            "annual_rate_percent": format(loan.annual_rate_percent.normalize(), "f"),
            "term_months": loan.term_months,
            "method": loan.method,
            "start_date": loan.start_date.isoformat(),
            "schedule_generated_at": loan.schedule_generated_at,
        }
    if kind == HoldingKind.PORTFOLIO:
        summary = portfolio_summary(user=user, holding=holding)
        return {
            "positions": len(summary.positions),
            "market_value_minor": summary.market_value_minor,
            "cost_minor": summary.cost_minor,
            "unrealised_gain_minor": summary.unrealised_gain_minor,
            "currency": summary.currency,
            "allocation": summary.allocation,
        }
    if kind in DETAIL_RELATIONS:
        model, names = DETAIL_RELATIONS[kind]
        row = model.objects.filter(holding=holding).first()
        if row is None:
            return None
        return {
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in ((name, getattr(row, name)) for name in names)
        }
    return None


def account_detail(*, user: Any, holding: Holding) -> AccountDetail | None:
    holding_get_for_user(user=user, pk=holding.pk)
    return AccountDetail.objects.select_related("holding").filter(holding=holding).first()


def holding_warnings(*, user: Any, holding: Holding) -> list[dict[str, str]]:
    account = account_detail(user=user, holding=holding) if holding.kind == "account" else None
    return list(account.data_warnings) if account is not None else []


def loan_detail(*, user: Any, holding: Holding) -> LoanDetail:
    holding_get_for_user(user=user, pk=holding.pk)
    loan = LoanDetail.objects.filter(holding=holding).first()
    if loan is None:
        raise NotFound()
    return loan


def loan_schedule(*, user: Any, holding: Holding) -> QuerySet[LoanInstalment]:
    """The repayment schedule of a loan; empty for other kinds and loans without terms."""
    holding_get_for_user(user=user, pk=holding.pk)
    return LoanInstalment.objects.filter(loan__holding=holding).order_by("number")


# --- portfolios ---------------------------------------------------------------------------


def latest_prices(codes: Any) -> dict[tuple[str, str], InstrumentPrice]:
    """(instrument code, currency) -> its latest price (most recent date, then import)."""
    latest: dict[tuple[str, str], InstrumentPrice] = {}
    rows = InstrumentPrice.objects.filter(instrument_code__in=set(codes)).order_by(
        "instrument_code", "currency", "-priced_on", "-imported_at", "-pk"
    )
    for price in rows:
        latest.setdefault((price.instrument_code, price.currency), price)
    return latest


@dataclass(frozen=True)
class ValuedPosition:
    position: PortfolioPosition
    price: InstrumentPrice | None
    market_value_minor: int | None
    unrealised_gain_minor: int | None


@dataclass(frozen=True)
class PortfolioSummary:
    positions: list[ValuedPosition]
    currency: str | None  # None when positions are in several currencies
    market_value_minor: int | None  # None when a position has no price or currencies differ
    cost_minor: int | None
    unrealised_gain_minor: int | None
    # asset class -> {"market_value_minor", "share_percent"} (positions with a price only)
    allocation: dict[str, dict[str, Any]]


def position_list(*, user: Any, holding: Holding) -> QuerySet[PortfolioPosition]:
    holding_get_for_user(user=user, pk=holding.pk)
    return holding.positions.order_by("instrument_code", "pk")


def position_get_for_user(
    *, user: Any, holding: Holding, pk: Any, permission: str = VIEW_PERMISSION
) -> PortfolioPosition:
    holding_get_for_user(user=user, pk=holding.pk, permission=permission)
    position = holding.positions.filter(pk=pk).first()
    if position is None:
        raise NotFound()
    return position


def valued_positions(positions: list[PortfolioPosition]) -> list[ValuedPosition]:
    """Market value = quantity × the latest price in the position's currency; unrealised gain
    = market value − cost. Both None without such a price."""
    prices = latest_prices(position.instrument_code for position in positions)
    valued = []
    for position in positions:
        price = prices.get((position.instrument_code, position.currency))
        market = gain = None
        if price is not None:
            market = to_minor(Decimal(position.quantity) * price.price, position.currency)
            gain = market - position.cost_minor
        valued.append(ValuedPosition(position, price, market, gain))
    return valued


def portfolio_summary(*, user: Any, holding: Holding) -> PortfolioSummary:
    valued = valued_positions(list(position_list(user=user, holding=holding)))
    currencies = {row.position.currency for row in valued}
    currency = currencies.pop() if len(currencies) == 1 else None
    priced = all(row.market_value_minor is not None for row in valued)
    market = cost = gain = None
    if currency is not None or not valued:
        cost = sum(row.position.cost_minor for row in valued)
        if priced:
            market = sum(row.market_value_minor or 0 for row in valued)
            gain = market - cost
    by_class: dict[str, int] = defaultdict(int)
    for row in valued:
        if row.market_value_minor is not None and currency is not None:
            by_class[row.position.asset_class] += row.market_value_minor
    total = sum(by_class.values())
    allocation = {
        asset_class: {
            "market_value_minor": value,
            "share_percent": str((Decimal(value) * 100 / total).quantize(Decimal("0.01")))
            if total
            else "0.00",
        }
        for asset_class, value in sorted(by_class.items())
    }
    return PortfolioSummary(valued, currency, market, cost, gain, allocation)


def price_list(*, user: Any, instrument_code: str | None = None) -> QuerySet[InstrumentPrice]:
    """Imported prices (market data, visible to anyone who may view property)."""
    require_permission(user, VIEW_PERMISSION)
    prices = InstrumentPrice.objects.all()
    if instrument_code:
        prices = prices.filter(instrument_code=instrument_code.strip().upper())
    return prices


def holding_history(*, user: Any, holding: Holding) -> QuerySet[AuditEntry]:
    """Audit entries about a holding (read-only), newest first."""
    holding_get_for_user(user=user, pk=holding.pk)
    return entry_list(
        user=user, filters={"object_type": OBJECT_TYPE, "object_id": str(holding.pk)}
    ).order_by("-pk")
