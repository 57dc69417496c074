"""Trades of portfolio holdings. A `Trade` row is append-only: it records the order as booked,
the ledger transfers it posted, and the position of (portfolio, instrument) right after it —
units, book cost (weighted average cost including buy fees) and, for a sell, the cost released
and the gain realised. The ledger (customer_units account of the portfolio) is the source of
truth for units; the trade rows are the source of truth for cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.ledger.assets import UNITS_EXPONENT, format_minor
from cpms.portfolios.choices import TradeSide

VIEW_PERMISSION = "ledger.view"
TRADE_PERMISSION = "ledger.post"
PRICE = {"max_digits": 24, "decimal_places": 8}


class Trade(models.Model):
    holding = models.ForeignKey(
        "holdings.Holding",
        on_delete=models.PROTECT,
        related_name="trades",
        verbose_name=_("portfolio"),
    )
    side = models.CharField(_("side"), max_length=4, choices=TradeSide.choices)
    instrument_code = models.CharField(_("instrument code"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3)
    # units in minor units of asset U:<instrument> (exponent 4)
    quantity_minor = models.BigIntegerField(_("quantity (1/10,000 units)"))
    price = models.DecimalField(_("price per unit"), **PRICE)
    # round-half-up(quantity x price) in minor units of `currency`
    gross_minor = models.BigIntegerField(_("gross amount (minor units)"))
    fee_minor = models.BigIntegerField(_("fee (minor units)"), default=0)
    # what the customer's cash moved: buy gross + fee (out), sell gross - fee (in)
    cash_minor = models.BigIntegerField(_("cash amount (minor units)"))
    trade_date = models.DateField(_("trade date"))
    settlement_date = models.DateField(_("settlement date"))
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=60, unique=True)
    # the position of (holding, instrument) right after this trade
    units_after_minor = models.BigIntegerField(_("units after (1/10,000 units)"))
    cost_after_minor = models.BigIntegerField(_("book cost after (minor units)"))
    average_cost_after = models.DecimalField(
        _("average cost per unit after"), max_digits=30, decimal_places=8, null=True, blank=True
    )
    cost_released_minor = models.BigIntegerField(_("cost of units sold (minor units)"), default=0)
    realised_minor = models.BigIntegerField(_("realised gain (minor units)"), default=0)
    cash_transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True
    )
    fee_transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    units_transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", null=True
    )
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked by"),
    )

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        indexes = [
            models.Index(
                fields=["holding", "instrument_code", "-id"], name="portfolios_position_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(side__in=TradeSide.values), name="portfolios_trade_side_valid"
            ),
            models.CheckConstraint(
                condition=Q(quantity_minor__gt=0), name="portfolios_trade_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(fee_minor__gte=0), name="portfolios_trade_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(units_after_minor__gte=0), name="portfolios_trade_units_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.instrument_code} #{self.pk}"

    @property
    def quantity(self) -> str:
        """Units as exact decimal text (4 decimals)."""
        return format_minor(self.quantity_minor, UNITS_EXPONENT)

    @property
    def price_text(self) -> str:
        return plain(self.price)

    @property
    def average_cost_text(self) -> str:
        return plain(self.average_cost_after) if self.average_cost_after is not None else ""


def plain(value: Any) -> str:
    """A decimal without trailing zeros and without exponent: 100.50000000 -> '100.5'."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
