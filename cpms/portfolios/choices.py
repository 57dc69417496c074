"""Enumerations of portfolio trading. Values are stored: never rename one."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TradeSide(models.TextChoices):
    BUY = "buy", _("Buy")
    SELL = "sell", _("Sell")
