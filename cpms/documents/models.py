"""Documents of customers: a `Document` (title, owner, classification, retention) chains its
`DocumentVersion`s (one stored file each, never deleted) and links to property items."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.documents.choices import (
    RETENTION_RULES,
    Classification,
    IntegrityStatus,
    RetentionBasis,
    RetentionClass,
)

VIEW_PERMISSION = "documents.view"
MANAGE_PERMISSION = "documents.manage"


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


class Document(models.Model):
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("owner"),
    )
    classification = models.CharField(
        _("classification"),
        max_length=16,
        choices=Classification.choices,
        default=Classification.INTERNAL,
    )
    retention_class = models.CharField(
        _("retention class"), max_length=16, choices=RetentionClass.choices
    )
    # fixed when the retention counts from the upload; None while it counts from a relationship
    # that has not ended (see `retention_ends_on`)
    retain_until = models.DateField(_("retain until"), null=True, blank=True)
    current_version = models.ForeignKey(
        "documents.DocumentVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )
    holdings = models.ManyToManyField(
        "holdings.Holding",
        through="documents.DocumentLink",
        related_name="documents",
        verbose_name=_("linked property"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            models.Index(fields=["customer", "-id"], name="documents_customer_idx"),
            models.Index(fields=["classification", "-id"], name="documents_class_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(classification__in=Classification.values),
                name="documents_classification_valid",
            ),
            models.CheckConstraint(
                condition=Q(retention_class__in=RetentionClass.values),
                name="documents_retention_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def retention_ends_on(self) -> datetime.date | None:
        """The stored date, or for relationship-bound classes the end of the relationship (the
        customer closed) plus the class's years; None while the relationship lasts."""
        if self.retain_until is not None:
            return self.retain_until
        years, basis = RETENTION_RULES[self.retention_class]
        customer = self.customer
        if basis == RetentionBasis.RELATIONSHIP_END and customer.status == "closed":
            ended = customer.status_changed_at or customer.updated_at
            return add_years(timezone.localtime(ended).date(), years)
        return None


class DocumentVersion(models.Model):
    """One stored file. Versions are only added, never changed or deleted; the integrity fields
    record the last re-hash of the stored bytes."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="versions", verbose_name=_("document")
    )
    number = models.PositiveIntegerField(_("version"))
    storage_name = models.CharField(_("storage name"), max_length=255, unique=True)
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    size = models.BigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("detected type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    last_verified_at = models.DateTimeField(_("last verified at"), null=True, blank=True)
    integrity_status = models.CharField(
        _("integrity"), max_length=16, choices=IntegrityStatus.choices, default=IntegrityStatus.OK
    )

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="documents_version_number"),
            models.CheckConstraint(
                condition=Q(integrity_status__in=IntegrityStatus.values),
                name="documents_integrity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class DocumentLink(models.Model):
    """A document linked to a property item of the same customer."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="links", verbose_name=_("document")
    )
    holding = models.ForeignKey(
        "holdings.Holding",
        on_delete=models.PROTECT,
        related_name="document_links",
        verbose_name=_("property"),
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("linked by"),
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)

    class Meta:
        verbose_name = _("document link")
        verbose_name_plural = _("document links")
        constraints = [
            models.UniqueConstraint(fields=["document", "holding"], name="documents_link_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} -> {self.holding_id}"
