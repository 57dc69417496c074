"""Kinds and reasons of retail records (product.md §2, retail case)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Channel(models.TextChoices):
    STORE = "store", pgettext_lazy("sales channel", "Store")
    ONLINE = "online", pgettext_lazy("sales channel", "Online")
    APP = "app", pgettext_lazy("sales channel", "App")
    PHONE = "phone", pgettext_lazy("sales channel", "Phone")


class ReturnKind(models.TextChoices):
    RETURN = "return", pgettext_lazy("retail return kind", "Return")
    EXCHANGE = "exchange", pgettext_lazy("retail return kind", "Exchange")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    CHANGED_MIND = "changed_mind", _("Changed mind")
    OTHER = "other", pgettext_lazy("return reason", "Other")
