"""Approval policies, requests and decisions (maker-checker)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.approvals.choices import ApprovalStatus, DecisionKind

DEFAULT_APPROVER_PERMISSION = "approvals.decide"


class ApprovalPolicy(models.Model):
    """Whether an action needs approval, from how many approvers, and for how long it waits."""

    action = models.CharField(_("action"), max_length=64, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    approvers_required = models.PositiveSmallIntegerField(_("approvers required"), default=1)
    threshold_minor = models.BigIntegerField(
        _("threshold (minor units)"),
        null=True,
        blank=True,
        help_text=_("Approval is needed only for amounts above this; empty means always."),
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    expiry_hours = models.PositiveIntegerField(_("expiry (hours)"), default=72)
    approver_permission = models.CharField(
        _("approver permission"), max_length=64, default=DEFAULT_APPROVER_PERMISSION
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")
        ordering = ["action"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approvers_required__gte=1), name="approvals_policy_approvers_min"
            ),
            models.CheckConstraint(
                condition=Q(expiry_hours__gte=1), name="approvals_policy_expiry"
            ),
            models.CheckConstraint(
                condition=Q(threshold_minor__isnull=True) | Q(threshold_minor__gte=0),
                name="approvals_policy_threshold",
            ),
        ]

    def __str__(self) -> str:
        return self.action


class ApprovalRequest(models.Model):
    """A deferred operation waiting for checkers. The policy's count, permission and expiry are
    copied at submission, so a later policy change does not move the goalposts of a request."""

    action = models.CharField(_("action"), max_length=64, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApprovalStatus.choices,
        default=ApprovalStatus.PENDING,
    )
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("maker"),
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    # the API token the maker submitted through, if any: whoever issued that token may not
    # decide the request (they could have made it themselves through a service account)
    maker_token = models.ForeignKey(
        "users.ApiToken",
        verbose_name=_("maker's API token"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    payload = models.JSONField(_("payload"), default=dict)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    amount_minor = models.BigIntegerField(_("amount (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    reason = models.TextField(_("reason"))
    approvers_required = models.PositiveSmallIntegerField(_("approvers required"))
    approver_permission = models.CharField(_("approver permission"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approvals_status_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(approvers_required__gte=1), name="approvals_request_approvers_min"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} ({self.status})"

    def is_overdue(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class ApprovalDecision(models.Model):
    """One approver's decision on one request; an approver decides once."""

    request = models.ForeignKey(
        ApprovalRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approver"),
        on_delete=models.PROTECT,
        related_name="approval_decisions",
    )
    decision = models.CharField(_("decision"), max_length=16, choices=DecisionKind.choices)
    reason = models.TextField(_("reason"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    class Meta:
        verbose_name = _("approval decision")
        verbose_name_plural = _("approval decisions")
        ordering = ["decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "approver"], name="approvals_decision_once_per_approver"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.approver} {self.decision} #{self.request_id}"
