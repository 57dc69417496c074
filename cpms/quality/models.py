"""Data quality: possible duplicate pairs, merges of customers, and the nightly summary."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.quality.choices import CandidateStatus


class DuplicateCandidate(models.Model):
    """Two customers that may be the same person or organisation. A pair is stored once, with
    `customer_a` the lower primary key; re-scans refresh it and never reopen a dismissed pair."""

    customer_a = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("first customer"),
    )
    customer_b = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("second customer"),
    )
    reasons = models.JSONField(_("reasons"), default=list)  # MatchReason values, sorted
    name_similarity = models.PositiveSmallIntegerField(_("name similarity (%)"), default=0)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.OPEN
    )
    first_found_at = models.DateTimeField(_("first found at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    survivor = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("survivor"),
    )
    approval_request = models.ForeignKey(
        "approvals.ApprovalRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approval request"),
    )

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        indexes = [
            models.Index(fields=["status", "-score"], name="quality_candidate_queue_idx"),
            models.Index(fields=["customer_b"], name="quality_candidate_b_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="quality_pair_once"),
            models.CheckConstraint(
                condition=Q(customer_a__lt=F("customer_b")), name="quality_pair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CandidateStatus.values), name="quality_candidate_status"
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="quality_candidate_score"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id}~{self.customer_b_id} ({self.status})"

    def other(self, customer_id: int) -> int:
        return self.customer_b_id if customer_id == self.customer_a_id else self.customer_a_id


class CustomerMerge(models.Model):
    """One executed merge: every link of `merged` moved to `survivor`; `merged` is closed."""

    survivor = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("survivor"),
    )
    merged = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("merged customer"),
    )
    candidate = models.ForeignKey(
        DuplicateCandidate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merges",
        verbose_name=_("possible duplicate"),
    )
    approval_request = models.ForeignKey(
        "approvals.ApprovalRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approval request"),
    )
    # {"<app>.<model>.<field>": rows moved}, clash resolutions, survivor fields filled
    moved = models.JSONField(_("moved links"), default=dict)
    resolutions = models.JSONField(_("clash resolutions"), default=list)
    filled = models.JSONField(_("fields filled on the survivor"), default=list)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    merged_at = models.DateTimeField(_("merged at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        constraints = [
            models.UniqueConstraint(fields=["merged"], name="quality_merged_once"),
            models.CheckConstraint(
                condition=~Q(survivor=F("merged")), name="quality_merge_distinct"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.survivor_id}"


class QualitySummary(models.Model):
    """The nightly data-quality figures of one day: the whole firm plus one entry per branch in
    `per_branch` ({branch code: {customers, average_completeness, open_duplicates, stale}})."""

    day = models.DateField(_("day"), unique=True)
    customers = models.PositiveIntegerField(_("customers"))
    average_completeness = models.DecimalField(
        _("average completeness"), max_digits=4, decimal_places=1
    )
    open_duplicates = models.PositiveIntegerField(_("open duplicates"))
    stale = models.PositiveIntegerField(_("stale records"))
    per_branch = models.JSONField(_("per branch"), default=dict)
    written_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("data-quality summary")
        verbose_name_plural = _("data-quality summaries")

    def __str__(self) -> str:
        return f"{self.day}: {self.customers} customers"
