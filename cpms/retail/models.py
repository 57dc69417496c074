"""Retail records: purchases with their lines, and returns or exchanges of purchased lines.

Money is in integer minor units of the purchase's `currency` (ISO 4217). A purchase is never
edited after it is recorded; returns are added to it. Scope follows the customer."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.retail.choices import Channel, ReturnKind, ReturnReason

VIEW_PERMISSION = "retail.view"
MANAGE_PERMISSION = "retail.manage"


class Purchase(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name=_("customer"),
    )
    # the store's receipt number: unique, the natural key of bulk import
    reference = models.CharField(_("receipt number"), max_length=60, unique=True)
    purchased_at = models.DateTimeField(_("purchased at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    store_code = models.CharField(_("store code"), max_length=20, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total_minor = models.BigIntegerField(_("total (minor units)"))
    note = models.CharField(_("note"), max_length=500, blank=True)
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
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        indexes = [
            models.Index(fields=["customer", "-purchased_at"], name="retail_customer_date_idx"),
            models.Index(fields=["-purchased_at", "-id"], name="retail_date_idx"),
            models.Index(fields=["store_code", "-purchased_at"], name="retail_store_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="retail_purchase_channel_valid"
            ),
            models.CheckConstraint(
                condition=~Q(channel=Channel.STORE) | ~Q(store_code=""),
                name="retail_purchase_store_code_for_store",
            ),
            models.CheckConstraint(
                condition=Q(total_minor__gte=0), name="retail_purchase_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class PurchaseLine(models.Model):
    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, related_name="lines", verbose_name=_("purchase")
    )
    line_number = models.PositiveSmallIntegerField(_("line"))
    category = models.CharField(_("category"), max_length=60)
    sku = models.CharField(_("SKU"), max_length=60, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_amount_minor = models.BigIntegerField(_("unit price (minor units)"))
    # quantity × unit price, or less after a line discount
    amount_minor = models.BigIntegerField(_("amount (minor units)"))

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")
        ordering = ("purchase_id", "line_number")
        constraints = [
            models.UniqueConstraint(
                fields=["purchase", "line_number"], name="retail_line_number_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="retail_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(unit_amount_minor__gte=0) & Q(amount_minor__gte=0),
                name="retail_line_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_id}#{self.line_number}"


class PurchaseReturn(models.Model):
    """A return (refund) or an exchange of some purchased units. Never edited."""

    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, related_name="returns", verbose_name=_("purchase")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ReturnKind.choices)
    reason = models.CharField(_("reason"), max_length=24, choices=ReturnReason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    returned_at = models.DateTimeField(_("returned at"))
    refund_minor = models.BigIntegerField(_("refund (minor units)"), default=0)
    # an exchange may name the purchase that replaced the returned units
    replacement = models.ForeignKey(
        Purchase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("replacement purchase"),
    )
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
        verbose_name = _("return or exchange")
        verbose_name_plural = _("returns and exchanges")
        indexes = [models.Index(fields=["purchase", "returned_at"], name="retail_return_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ReturnKind.values), name="retail_return_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=ReturnReason.values), name="retail_return_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(refund_minor__gte=0), name="retail_return_refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_id}:{self.kind}:{self.pk}"


class PurchaseReturnLine(models.Model):
    purchase_return = models.ForeignKey(
        PurchaseReturn, on_delete=models.PROTECT, related_name="lines", verbose_name=_("return")
    )
    line = models.ForeignKey(
        PurchaseLine,
        on_delete=models.PROTECT,
        related_name="returned",
        verbose_name=_("purchase line"),
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    # the share of the line's amount these units carry (exact over all returns of the line)
    value_minor = models.BigIntegerField(_("value (minor units)"))

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_return", "line"], name="retail_return_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="retail_return_line_quantity_pos"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_return_id}:{self.line_id}×{self.quantity}"
