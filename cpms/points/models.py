"""Loyalty points on top of the ledger (asset PTS, exponent 0).

- `PointsRule`: how purchases earn points in one currency (points per amount spent, category
  and tier multipliers, tier thresholds on rolling 12-month net spend, lot lifetime).
- `PointsMember`: a customer's current tier (changes are audited).
- `PointsLot`: points earned by one purchase or one approved positive adjustment, with the
  transfer that posted them and their expiry date. Lots are never edited.
- `PointsLotUse`: points taken out of a lot by a redemption, an expiry, a return reversal or a
  negative adjustment (one row per lot and transfer; append-only). The remainder of a lot is
  its points minus the sum of its uses; the customer's points balance equals the sum of the
  remainders of their lots.
- `PointsShortfall`: points a return should have reversed but that the customer had already
  spent (the balance cannot go negative; the return is not blocked)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.points.choices import DEFAULT_EXPIRY_MONTHS, DEFAULT_TIERS, LotSource, UseKind


def _default_tiers() -> list:
    return [dict(tier) for tier in DEFAULT_TIERS]


class PointsRule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, unique=True, default="CNY")
    # `points_per_unit` points for every `unit_minor` minor units spent (1 per 100 = 1 per 1.00)
    points_per_unit = models.PositiveIntegerField(_("points per unit"), default=1)
    unit_minor = models.PositiveIntegerField(_("unit (minor units)"), default=100)
    # {"category": "2.0"}: Decimal strings; categories not listed earn 1.0x
    category_multipliers = models.JSONField(_("category multipliers"), default=dict, blank=True)
    # [{"code", "name", "threshold_minor", "multiplier"}], ascending thresholds, first is 0
    tiers = models.JSONField(_("tiers"), default=_default_tiers)
    expiry_months = models.PositiveSmallIntegerField(
        _("lot lifetime (months)"), default=DEFAULT_EXPIRY_MONTHS
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ("currency",)
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_unit__gt=0) & Q(unit_minor__gt=0),
                name="points_rule_rate_positive",
            ),
            models.CheckConstraint(
                condition=Q(expiry_months__gte=1), name="points_rule_expiry_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PointsMember(models.Model):
    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="points_member",
        verbose_name=_("customer"),
    )
    tier = models.CharField(_("tier"), max_length=32)
    since = models.DateTimeField(_("tier since"), default=timezone.now)
    created_at = models.DateTimeField(_("member since"), default=timezone.now)

    class Meta:
        verbose_name = _("points member")
        verbose_name_plural = _("points members")

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tier}"


class PointsLot(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="points_lots",
        verbose_name=_("customer"),
    )
    account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("account")
    )
    source = models.CharField(_("source"), max_length=16, choices=LotSource.choices)
    purchase = models.OneToOneField(
        "retail.Purchase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_lot",
        verbose_name=_("purchase"),
    )
    earn_transfer = models.OneToOneField(
        "ledger.Transfer",
        on_delete=models.PROTECT,
        related_name="points_lot",
        verbose_name=_("earning transfer"),
    )
    earned_on = models.DateField(_("earned on"))
    expires_on = models.DateField(_("expires on"))
    points = models.BigIntegerField(_("points"))
    # how the points were computed (rule, tier, exact points per purchase line as "n/d")
    basis = models.JSONField(_("basis"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        indexes = [
            models.Index(fields=["customer", "expires_on", "id"], name="points_lot_fifo_idx"),
            models.Index(fields=["expires_on", "id"], name="points_lot_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="points_lot_points_positive"),
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("earned_on")), name="points_lot_expiry_after"
            ),
            models.CheckConstraint(
                condition=Q(source__in=LotSource.values), name="points_lot_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk} ({self.points})"


class PointsLotUse(models.Model):
    lot = models.ForeignKey(
        PointsLot, on_delete=models.PROTECT, related_name="uses", verbose_name=_("lot")
    )
    transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+", verbose_name=_("transfer")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=UseKind.choices)
    points = models.BigIntegerField(_("points"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("points lot use")
        verbose_name_plural = _("points lot uses")
        constraints = [
            models.UniqueConstraint(fields=["lot", "transfer"], name="points_use_once"),
            models.CheckConstraint(condition=Q(points__gt=0), name="points_use_points_positive"),
            models.CheckConstraint(condition=Q(kind__in=UseKind.values), name="points_use_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.lot_id}-{self.points}"


class PointsShortfall(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="points_shortfalls",
        verbose_name=_("customer"),
    )
    purchase_return = models.OneToOneField(
        "retail.PurchaseReturn",
        on_delete=models.PROTECT,
        related_name="points_shortfall",
        verbose_name=_("return"),
    )
    points_due = models.BigIntegerField(_("points due"))
    points_reversed = models.BigIntegerField(_("points reversed"))
    points = models.BigIntegerField(_("shortfall"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("points shortfall")
        verbose_name_plural = _("points shortfalls")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="points_shortfall_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_return_id}: {self.points}"
