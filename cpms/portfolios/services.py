"""Every write of portfolio trading: `trade_book` posts a buy or a sell to the ledger (cash leg
and units leg, all-or-nothing) and appends the `Trade` row with the running average cost of the
position, in one transaction with its audit entry."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pydantic
from django.db import transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scoped
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.money import minor_exponent, to_minor
from cpms.core.types import integer_text
from cpms.holdings.choices import HoldingKind, HoldingStatus
from cpms.holdings.models import Holding
from cpms.ledger import assets, engine
from cpms.ledger import services as ledger
from cpms.ledger.choices import AccountPurpose
from cpms.ledger.errors import InsufficientFunds, PeriodClosed
from cpms.ledger.models import Account
from cpms.ledger.selectors import account_balance
from cpms.portfolios.choices import TradeSide
from cpms.portfolios.errors import PortfolioNotFound, TradeKeyConflict, TradeNotValid
from cpms.portfolios.models import TRADE_PERMISSION, Trade
from cpms.portfolios.schemas import TradeIn

TRADE_OBJECT = "portfolios.trade"
UNIT_SCALE = 10**assets.UNITS_EXPONENT


@dataclass(frozen=True)
class TradeOutcome:
    trade: Trade
    replayed: bool


def _parse(data: Any) -> TradeIn:
    if isinstance(data, TradeIn):
        return data
    try:
        return TradeIn.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ())) or "trade"
            problems.setdefault(where, str(error.get("msg", "invalid")))
        raise TradeNotValid(fields=problems) from None
    except (TypeError, ValueError):
        raise TradeNotValid(fields={"trade": _("Give the trade as an object.")}) from None


def _portfolio_for_trading(actor: Any, holding: Any) -> Holding:
    """The portfolio holding in the actor's `ledger.post` scope, locked for the trade (trades of
    one portfolio are booked one at a time so each sees the position left by the last)."""
    pk = getattr(holding, "pk", holding)
    visible = scoped(Holding.objects.all(), user=actor, permission=TRADE_PERMISSION)
    if not visible.filter(pk=pk, kind=HoldingKind.PORTFOLIO).exists():
        raise PortfolioNotFound(fields={"holding_id": str(pk)})
    locked = Holding.objects.select_for_update().select_related("customer").get(pk=pk)
    if locked.status != HoldingStatus.ACTIVE:
        raise TradeNotValid(
            fields={
                "holding_id": _("Only an active portfolio can trade (this one is %(s)s).")
                % {"s": locked.get_status_display()}
            }
        )
    return locked


def _same_trade(trade: Trade, holding: Holding, item: TradeIn, quantity_minor: int) -> bool:
    return (
        trade.holding_id == holding.pk
        and trade.side == item.side
        and trade.instrument_code == item.instrument_code
        and trade.quantity_minor == quantity_minor
        and trade.price == item.price
        and trade.fee_minor == item.fee_minor
        and trade.trade_date == item.trade_date
    )


def _validate(item: TradeIn, holding: Holding, previous: Trade | None) -> tuple[str, int, int]:
    """(currency, quantity in minor units, gross amount in minor units), or every problem."""
    problems: dict[str, str] = {}
    currency = item.currency or holding.currency
    if not assets.is_currency(currency):
        problems["currency"] = _("%(code)s is not an ISO 4217 currency.") % {"code": currency}
    elif previous is not None and previous.currency != currency:
        problems["currency"] = _(
            "%(instrument)s is held in %(held)s in this portfolio; trade it in %(held)s."
        ) % {"instrument": item.instrument_code, "held": previous.currency}
    if assets.definition(assets.units_code(item.instrument_code)) is None:
        problems["instrument_code"] = _(
            "Use 1 to 20 characters A-Z, 0-9, '.' or '-' (e.g. 600519.SH)."
        )
    if item.trade_date > engine.today():
        problems["trade_date"] = _("A trade cannot be dated in the future.")
    if item.settlement_date is not None and item.settlement_date < item.trade_date:
        problems["settlement_date"] = _("Settlement cannot come before the trade date.")
    quantity_minor = int(item.quantity * UNIT_SCALE)
    gross = to_minor(item.quantity * item.price, currency) if "currency" not in problems else 0
    if "currency" not in problems and gross <= 0:
        problems["price"] = _("Quantity x price rounds to zero %(currency)s.") % {
            "currency": currency
        }
    if item.side == TradeSide.SELL and gross > 0 and item.fee_minor >= gross:
        problems["fee_minor"] = _("The fee must be less than the proceeds of the sale (%(g)s).") % {
            "g": assets.format_minor(gross, minor_exponent(currency))
        }
    if problems:
        raise TradeNotValid(fields=problems)
    return currency, quantity_minor, gross


def _half_up_ratio(amount: int, numerator: int, denominator: int) -> int:
    """round-half-up(amount x numerator / denominator) for non-negative integers."""
    return (2 * amount * numerator + denominator) // (2 * denominator)


def _average(cost_minor: int, units_minor: int, currency: str) -> Decimal | None:
    if units_minor <= 0:
        return None
    value = Decimal(cost_minor).scaleb(-minor_exponent(currency)) / Decimal(units_minor).scaleb(
        -assets.UNITS_EXPONENT
    )
    return value.quantize(Decimal("0.00000001"))


def _specs(
    item: TradeIn, key: str, accounts: dict[str, Account], amounts: dict[str, int], meta: dict
) -> list[engine.TransferSpec]:
    text = f"{item.side.upper()} {item.instrument_code}"
    if item.reference:
        text = f"{text} {item.reference}"
    common = {"reference": text[:140], "value_date": item.trade_date, "metadata": meta}
    buy = item.side == TradeSide.BUY
    specs = [
        ledger.TransferSpec(
            debit_account=accounts["cash"] if buy else accounts["settlement"],
            credit_account=accounts["settlement"] if buy else accounts["cash"],
            amount=amounts["cash"],
            idempotency_key=f"trade:{key}:cash",
            **common,
        ),
        ledger.TransferSpec(
            debit_account=accounts["custody"] if buy else accounts["units"],
            credit_account=accounts["units"] if buy else accounts["custody"],
            amount=amounts["units"],
            idempotency_key=f"trade:{key}:units",
            **common,
        ),
    ]
    if amounts["fee"] > 0:
        specs.append(
            ledger.TransferSpec(
                debit_account=accounts["cash"] if buy else accounts["settlement"],
                credit_account=accounts["fees"],
                amount=amounts["fee"],
                idempotency_key=f"trade:{key}:fee",
                **common,
            )
        )
    return specs


def _accounts(actor: Any, holding: Holding, instrument: str, currency: str) -> dict[str, Account]:
    customer = holding.customer
    units_asset = assets.units_code(instrument)
    return {
        "cash": ledger.customer_account(
            customer=customer,
            purpose=AccountPurpose.CUSTOMER_CASH,
            asset_code=currency,
            holding=None,
            actor=actor,
        ),
        "units": ledger.customer_account(
            customer=customer,
            purpose=AccountPurpose.CUSTOMER_UNITS,
            asset_code=units_asset,
            holding=holding,
            actor=actor,
        ),
        "settlement": ledger.internal_account(
            asset_code=currency, purpose=AccountPurpose.SETTLEMENT, actor=actor
        ),
        "fees": ledger.internal_account(
            asset_code=currency, purpose=AccountPurpose.FEES, actor=actor
        ),
        "custody": ledger.internal_account(
            asset_code=units_asset, purpose=AccountPurpose.UNITS_CUSTODY, actor=actor
        ),
    }


def _refusal(
    item: TradeIn, accounts: dict[str, Account], currency: str, needed: int
) -> InsufficientFunds:
    if item.side == TradeSide.SELL:
        held = account_balance(accounts["units"]).available
        message = _(
            "Cannot sell %(quantity)s units of %(instrument)s: the portfolio holds %(held)s."
        ) % {
            "quantity": assets.format_minor(needed, assets.UNITS_EXPONENT),
            "instrument": item.instrument_code,
            "held": assets.format_minor(held, assets.UNITS_EXPONENT),
        }
        return InsufficientFunds(message, fields={"quantity": message})
    available = account_balance(accounts["cash"]).available
    exponent = minor_exponent(currency)
    message = _(
        "The buy needs %(needed)s %(currency)s (amount and fee) but the customer's cash account "
        "%(code)s holds %(available)s %(currency)s."
    ) % {
        "needed": assets.format_minor(needed, exponent),
        "currency": currency,
        "code": accounts["cash"].code,
        "available": assets.format_minor(available, exponent),
    }
    return InsufficientFunds(message, fields={"quantity": message})


def _snapshot(trade: Trade) -> dict[str, Any]:
    return {
        "id": trade.pk,
        "holding_id": trade.holding_id,
        "side": trade.side,
        "instrument_code": trade.instrument_code,
        "currency": trade.currency,
        "quantity_minor": trade.quantity_minor,
        "price": str(trade.price),
        "gross_minor": trade.gross_minor,
        "fee_minor": trade.fee_minor,
        "cash_minor": trade.cash_minor,
        "trade_date": trade.trade_date.isoformat(),
        "settlement_date": trade.settlement_date.isoformat(),
        "reference": trade.reference,
        "idempotency_key": trade.idempotency_key,
        "units_after_minor": trade.units_after_minor,
        "cost_after_minor": trade.cost_after_minor,
        "cost_released_minor": trade.cost_released_minor,
        "realised_minor": trade.realised_minor,
        "transfer_ids": [
            pk
            for pk in (trade.cash_transfer_id, trade.units_transfer_id, trade.fee_transfer_id)
            if pk is not None
        ],
    }


def _trade_replay(item: TradeIn, portfolio: Holding, quantity_minor: int) -> TradeOutcome | None:
    """The trade already booked under the item's key (a replay), None when there is none; the
    key of a different trade is refused."""
    if not item.idempotency_key:
        return None
    stored = Trade.objects.filter(idempotency_key=item.idempotency_key).first()
    if stored is None:
        return None
    if not _same_trade(stored, portfolio, item, quantity_minor):
        # keys are unique across all portfolios: the stored trade may be out of the actor's
        # scope, so the refusal names nothing but the field
        raise TradeKeyConflict(
            fields={
                "idempotency_key": _("This idempotency key was already used for a different trade.")
            }
        )
    return TradeOutcome(trade=stored, replayed=True)


def _post_legs(
    actor: Any,
    item: TradeIn,
    key: str,
    specs: list[engine.TransferSpec],
    accounts: dict[str, Account],
    currency: str,
    needed: int,
) -> engine.Posted:
    """Post the legs through the ledger; a refusal is told in the trade's terms (units or cash
    short, the trade date in a closed period)."""
    try:
        posted = ledger.post_internal(actor=actor, specs=specs)
    except InsufficientFunds:
        raise _refusal(item, accounts, currency, needed) from None
    except PeriodClosed as exc:
        raise PeriodClosed(
            fields={"trade_date": next(iter(exc.fields.values()), exc.message)}
        ) from None
    if posted.replayed:  # the ledger keys belong to a trade of another portfolio
        raise TradeKeyConflict(fields={"idempotency_key": key})
    return posted


def _cost_after(
    previous: Trade | None,
    *,
    buy: bool,
    gross: int,
    fee: int,
    cash: int,
    quantity: int,
    units_before: int,
) -> tuple[int, int, int]:
    """(cost of the position after the trade, cost released by a sale, realised gain) at
    average cost: a buy adds amount and fee; a sale releases the sold share of the cost
    (round half up; everything when it sells the whole position)."""
    cost_before = previous.cost_after_minor if previous is not None else 0
    if buy:
        return cost_before + gross + fee, 0, 0
    released = (
        cost_before
        if quantity >= units_before
        else _half_up_ratio(cost_before, quantity, units_before)
    )
    return cost_before - released, released, cash - released


def trade_book(*, actor: Any, holding: Any, data: Any) -> TradeOutcome:
    """Book a buy or a sell of `holding` (a portfolio in the actor's `ledger.post` scope).

    Buy: customer cash -> settlement (round-half-up(quantity x price)), customer cash -> fees
    (fee), units custody -> the portfolio's units account (quantity). Sell: the reverse units
    leg, settlement -> customer cash (proceeds less fee) and settlement -> fees (fee). Nothing is
    written when any leg is refused (selling more than held, cash short, closed period). A
    replay of `idempotency_key` returns the original trade and books nothing."""
    require_permission(actor, TRADE_PERMISSION)
    item = _parse(data)
    with transaction.atomic():
        portfolio = _portfolio_for_trading(actor, holding)
        replay = _trade_replay(item, portfolio, int(item.quantity * UNIT_SCALE))
        if replay is not None:
            return replay
        previous = (
            Trade.objects.filter(holding=portfolio, instrument_code=item.instrument_code)
            .order_by("-pk")
            .first()
        )
        currency, quantity_minor, gross = _validate(item, portfolio, previous)
        key = item.idempotency_key or engine.new_key()
        fee = item.fee_minor
        buy = item.side == TradeSide.BUY
        cash = gross + fee if buy else gross - fee
        accounts = _accounts(actor, portfolio, item.instrument_code, currency)
        meta = {"trade_key": key, "holding": portfolio.pk, "side": str(item.side)}
        specs = _specs(
            item,
            key,
            accounts,
            {"cash": gross if buy else cash, "units": quantity_minor, "fee": fee},
            meta,
        )
        posted = _post_legs(
            actor, item, key, specs, accounts, currency, cash if buy else quantity_minor
        )
        units_after = account_balance(accounts["units"]).posted
        cost_after, released, realised = _cost_after(
            previous,
            buy=buy,
            gross=gross,
            fee=fee,
            cash=cash,
            quantity=quantity_minor,
            units_before=units_after - quantity_minor if buy else units_after + quantity_minor,
        )
        by_key = {transfer.idempotency_key: transfer for transfer in posted.transfers}
        trade = Trade.objects.create(
            holding=portfolio,
            side=item.side,
            instrument_code=item.instrument_code,
            currency=currency,
            quantity_minor=quantity_minor,
            price=item.price,
            gross_minor=gross,
            fee_minor=fee,
            cash_minor=cash,
            trade_date=item.trade_date,
            settlement_date=item.settlement_date or item.trade_date,
            reference=item.reference,
            idempotency_key=key,
            units_after_minor=units_after,
            cost_after_minor=cost_after,
            average_cost_after=_average(cost_after, units_after, currency),
            cost_released_minor=released,
            realised_minor=realised,
            cash_transfer=by_key[f"trade:{key}:cash"],
            fee_transfer=by_key.get(f"trade:{key}:fee"),
            units_transfer=by_key[f"trade:{key}:units"],
            booked_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.TRADE_BOOKED,
            object_type=TRADE_OBJECT,
            object_id=trade.pk,
            after=_snapshot(trade),
        )
    return TradeOutcome(trade=trade, replayed=False)


IMPORT_COLUMNS = (
    "portfolio",
    "side",
    "instrument_code",
    "quantity",
    "price",
    "currency",
    "fee_minor",
    "trade_date",
    "settlement_date",
    "reference",
    "idempotency_key",
)
MAX_IMPORT_ROWS = 5000


def _import_rows(content: bytes) -> list[dict[str, str]]:
    """The non-empty rows of the CSV file, cells trimmed; refused when the file is not UTF-8,
    lacks or adds columns, has no trade or more than MAX_IMPORT_ROWS."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TradeNotValid(fields={"file": _("The file is not UTF-8 text.")}) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [
        name
        for name in ("portfolio", "side", "instrument_code", "quantity", "price", "trade_date")
        if name not in header
    ]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if missing or unknown:
        problems = {}
        if missing:
            problems["columns"] = _("Missing columns: %(names)s.") % {"names": ", ".join(missing)}
        if unknown:
            problems["header"] = _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}
        raise TradeNotValid(fields=problems)
    rows = []
    for row in reader:
        cleaned = {(key or "").strip(): (value or "").strip() for key, value in row.items()}
        if any(cleaned.values()):
            rows.append(cleaned)
    if not rows:
        raise TradeNotValid(fields={"file": _("The file has no trades.")})
    if len(rows) > MAX_IMPORT_ROWS:
        raise TradeNotValid(
            fields={"file": _("At most %(max)s trades per file.") % {"max": MAX_IMPORT_ROWS}}
        )
    return rows


def trades_import(*, actor: Any, content: bytes) -> list[TradeOutcome]:
    """Book the trades of a CSV file (columns IMPORT_COLUMNS; `portfolio` is the property
    number) in file order, all-or-nothing: every refused row is reported (`row N.field`) and
    nothing is booked. Rows with a known idempotency key are replays."""
    require_permission(actor, TRADE_PERMISSION)
    rows = _import_rows(content)
    problems: dict[str, str] = {}
    outcomes: list[TradeOutcome] = []
    with transaction.atomic():
        numbers = {row["portfolio"] for row in rows}
        holdings = {
            holding.holding_number: holding
            for holding in scoped(
                Holding.objects.filter(kind=HoldingKind.PORTFOLIO, holding_number__in=numbers),
                user=actor,
                permission=TRADE_PERMISSION,
            )
        }
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            holding = holdings.get(row["portfolio"])
            if holding is None:
                problems[f"row {number}.portfolio"] = _("No portfolio %(n)s.") % {
                    "n": row["portfolio"] or "''"
                }
                continue
            data = {key: value for key, value in row.items() if key != "portfolio" and value}
            if "fee_minor" in data:  # CSV text; the schema takes strict integers
                data["fee_minor"] = integer_text(data["fee_minor"])
            try:
                outcomes.append(trade_book(actor=actor, holding=holding, data=data))
            except (TradeNotValid, TradeKeyConflict, InsufficientFunds, PeriodClosed) as exc:
                for field_name, message in (exc.fields or {"trade": exc.message}).items():
                    problems[f"row {number}.{field_name}"] = str(message)
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise TradeNotValid(_("No trade was booked; correct the rows listed."), fields=problems)
    return outcomes
