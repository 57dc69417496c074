"""Statuses, decisions and the built-in action codes of the maker-checker."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from cpms.core.transitions import StateMachine


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    EXECUTED = "executed", _("Executed")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


# The request state machine: a request leaves `pending` exactly once and never comes back.
REQUEST_STATES = StateMachine.from_targets(
    "approval request",
    {
        ApprovalStatus.PENDING: (
            ApprovalStatus.EXECUTED,
            ApprovalStatus.REJECTED,
            ApprovalStatus.EXPIRED,
            ApprovalStatus.CANCELLED,
        ),
        ApprovalStatus.EXECUTED: (),
        ApprovalStatus.REJECTED: (),
        ApprovalStatus.EXPIRED: (),
        ApprovalStatus.CANCELLED: (),
    },
)


class DecisionKind(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ApprovalAction(models.TextChoices):
    """Action codes with a default policy (migration 0002). Domain apps may add more."""

    LEDGER_TRANSFER = "ledger.transfer", _("Transfer above the threshold")
    HOLDINGS_DISPOSE = "holdings.dispose", _("Disposal of property")
    CUSTOMERS_MERGE = "customers.merge", _("Customer merge")
    ACCESS_ROLE_GRANT = "access.role_grant", _("Role grant")
    MONITORING_RULE_CHANGE = "monitoring.rule_change", _("Monitoring rule change")
    PRIVACY_BULK_EXPORT = "privacy.bulk_export", _("Bulk export of personal data")
    POINTS_ADJUST = "points.adjust", _("Loyalty points adjustment")
    CUSTOMERS_KYC_VERIFY = "customers.kyc_verify", _("KYC verification")
