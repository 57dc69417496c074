"""The property register: one `Holding` per item a customer owns or entrusts to the firm, of
every kind (choices.HoldingKind), with its valuation history. Kind-specific data lives in
detail models linked one-to-one to the holding (accounts, portfolios, loans, … here; items in
custody in `cpms/custody/`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.holdings.choices import HoldingKind, HoldingStatus

VIEW_PERMISSION = "holdings.view"
MANAGE_PERMISSION = "holdings.manage"


class Holding(models.Model):
    holding_number = models.CharField(_("property number"), max_length=40, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="holdings",
        verbose_name=_("owner"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=HoldingKind.choices)
    # the owner's or issuer's reference for the item (account number digest, ISIN, contract no.,
    # serial number, …); with customer and kind it is the natural key used by imports
    identifier = models.CharField(_("identifier"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    # value in integer minor units of `currency` (ISO 4217); None = not valued yet
    value_minor = models.BigIntegerField(_("value (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    valued_on = models.DateField(_("valuation date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=HoldingStatus.choices, default=HoldingStatus.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="custodian_of",
        verbose_name=_("custodian"),
    )
    location = models.CharField(_("location"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("property item")
        verbose_name_plural = _("property items")
        indexes = [
            models.Index(fields=["customer", "kind"], name="holdings_customer_kind_idx"),
            models.Index(fields=["kind", "status"], name="holdings_kind_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "identifier"], name="holdings_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=HoldingKind.values), name="holdings_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=HoldingStatus.values), name="holdings_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holding_number} {self.description}".strip()


class HoldingValuation(models.Model):
    """One valuation of a holding; the latest also sits on the holding. Never edited."""

    holding = models.ForeignKey(
        Holding, on_delete=models.PROTECT, related_name="valuations", verbose_name=_("property")
    )
    value_minor = models.BigIntegerField(_("value (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    valued_on = models.DateField(_("valuation date"))
    source = models.CharField(_("source"), max_length=80, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("valuation")
        verbose_name_plural = _("valuations")
        indexes = [models.Index(fields=["holding", "-valued_on"], name="holdings_valuation_idx")]

    def __str__(self) -> str:
        return f"{self.holding_id} {self.value_minor} {self.currency} @ {self.valued_on}"
