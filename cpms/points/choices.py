"""Enumerations of loyalty points: where a lot came from, how a lot is used, history kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import pgettext_lazy

ASSET = "PTS"
VIEW_PERMISSION = "retail.view"
REDEEM_PERMISSION = "points.redeem"
ADJUST_PERMISSION = "points.adjust"
APPROVAL_ACTION = "points.adjust"


class LotSource(models.TextChoices):
    PURCHASE = "purchase", pgettext_lazy("points lot source", "Purchase")
    ADJUSTMENT = "adjustment", pgettext_lazy("points lot source", "Adjustment")


class UseKind(models.TextChoices):
    """What took points out of a lot (each use is one row, never edited)."""

    REDEEM = "redeem", pgettext_lazy("points use", "Redemption")
    EXPIRE = "expire", pgettext_lazy("points use", "Expiry")
    REVERSE = "reverse", pgettext_lazy("points use", "Return reversal")
    ADJUST = "adjust", pgettext_lazy("points use", "Adjustment")


class EventKind(models.TextChoices):
    """Kinds of the points history (stored in each transfer's metadata as `points_event`)."""

    EARN = "earn", pgettext_lazy("points event", "Earned")
    REDEEM = "redeem", pgettext_lazy("points event", "Redeemed")
    EXPIRE = "expire", pgettext_lazy("points event", "Expired")
    ADJUST = "adjust", pgettext_lazy("points event", "Adjusted")
    REVERSE = "reverse", pgettext_lazy("points event", "Reversed (return)")


# the default earn rule (also written by migration 0002): 1 point per 1.00 CNY, tiers by
# rolling 12-month net spend in minor units
DEFAULT_TIERS = [
    {"code": "standard", "name": "Standard", "threshold_minor": 0, "multiplier": "1.0"},
    {"code": "silver", "name": "Silver", "threshold_minor": 500_000, "multiplier": "1.25"},
    {"code": "gold", "name": "Gold", "threshold_minor": 2_000_000, "multiplier": "1.5"},
]
DEFAULT_EXPIRY_MONTHS = 12
