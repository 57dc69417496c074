from django.db import models
from django.utils.translation import gettext_lazy as _


class PiiKind(models.TextChoices):
    """What a protected field holds: chooses its search normaliser and its mask."""

    IDENTITY = "identity", _("Identity document number")
    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("Email address")
    NAME = "name", _("Personal name")
    BANK_ACCOUNT = "bank_account", _("Bank card or account number")
    TEXT = "text", _("Other personal text")
