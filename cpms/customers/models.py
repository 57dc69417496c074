"""The customer registry: customers (individuals and organisations) and their consents."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.access.scopes import scoped
from cpms.customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    CustomerKind,
    CustomerStatus,
    CustomFieldType,
    IdentityKind,
    KycStatus,
    RiskRating,
)
from cpms.customers.segments import segment_label
from cpms.privacy.choices import PiiKind
from cpms.privacy.protected import PiiField, ProtectedFields

VIEW_PERMISSION = "customers.view"
MANAGE_PERMISSION = "customers.manage"
CONFIGURE_PERMISSION = "customers.configure"


def _visible_customers(user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """Reveal and other PII reads reach only customers the user may view."""
    return scoped(queryset, user=user, permission=VIEW_PERMISSION)


class Customer(models.Model):
    customer_number = models.CharField(_("customer number"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CustomerKind.choices)
    legal_name = models.CharField(_("legal name"), max_length=200)
    name_pinyin = models.CharField(_("name in pinyin"), max_length=600, blank=True, db_index=True)
    identity_kind = models.CharField(
        _("identity document"), max_length=16, choices=IdentityKind.choices
    )
    identity_country = models.CharField(_("issuing country"), max_length=3, blank=True)
    identity_number_encrypted = models.TextField(blank=True, default="")
    identity_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    phone_encrypted = models.TextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    email_encrypted = models.TextField(blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    address_encrypted = models.TextField(blank=True, default="")
    branch = models.ForeignKey(
        "users.Branch", on_delete=models.PROTECT, related_name="customers", verbose_name=_("branch")
    )
    relationship_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_customers",
        verbose_name=_("relationship manager"),
    )
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customer_profile",
        verbose_name=_("portal user"),
    )
    kyc_status = models.CharField(
        _("KYC status"), max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING
    )
    kyc_reviewed_at = models.DateField(_("KYC reviewed on"), null=True, blank=True)
    kyc_next_review_at = models.DateField(_("next KYC review"), null=True, blank=True)
    risk_rating = models.CharField(
        _("risk rating"), max_length=8, choices=RiskRating.choices, default=RiskRating.LOW
    )
    segment = models.CharField(_("segment"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # values of the administrator-defined fields (CustomFieldDefinition): {key: value}, typed
    # as JSON (text, integer, decimal as a string, ISO date, boolean, choice)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # what validation accepted with a warning: [{"field", "code", "message"}]
    data_warnings = models.JSONField(_("data warnings"), default=list, blank=True)
    # registered although it looked like existing customers (same name or pinyin and the same
    # birth date or phone): {"candidate_ids": [...], "reason": ..., "confirmed_by_id": ...,
    # "confirmed_at": ISO time}; empty when there was no such warning
    duplicate_confirmation = models.JSONField(
        _("possible duplicate confirmed"), default=dict, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    pii = ProtectedFields(
        fields={
            "identity_number": PiiField(
                PiiKind.IDENTITY, "identity_number_encrypted", "identity_number_index"
            ),
            "phone": PiiField(PiiKind.PHONE, "phone_encrypted", "phone_index"),
            "email": PiiField(PiiKind.EMAIL, "email_encrypted", "email_index"),
            "address": PiiField(PiiKind.TEXT, "address_encrypted"),
        },
        scope=_visible_customers,
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["branch", "status"], name="customers_branch_status_idx"),
            models.Index(fields=["relationship_manager"], name="customers_rm_idx"),
            # a relationship manager's list filtered by status (bench/customers.py)
            models.Index(fields=["relationship_manager", "status"], name="customers_rm_status_idx"),
            models.Index(fields=["kyc_next_review_at"], name="customers_kyc_review_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=CustomerKind.values), name="customers_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CustomerStatus.values), name="customers_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_number} {self.legal_name}"

    @property
    def segment_label(self) -> str:
        return segment_label(self.segment)

    @property
    def possible_duplicate_confirmed(self) -> bool:
        return bool(self.duplicate_confirmation)

    @property
    def duplicate_reason(self) -> str:
        return str((self.duplicate_confirmation or {}).get("reason", ""))


class IdentityClaim(models.Model):
    """One row per identity document in the register (kind, issuing country and the blind index
    of the number): its unique key is what stops two simultaneous registrations of the same
    document from both succeeding. Customers registered before the claims existed keep their
    first holder's claim; a claim whose customer no longer carries the number is taken over."""

    key = models.CharField(_("identity key"), max_length=120, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identity_claims")

    class Meta:
        verbose_name = _("identity claim")
        verbose_name_plural = _("identity claims")

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.key[:16]}"


class Consent(models.Model):
    """One grant of consent. Withdrawal sets `withdrawn_at`; granting again adds a new row, so
    the history (what, when, how, withdrawn?) is never overwritten."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="consents", verbose_name=_("customer")
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentPurpose.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withdrawal recorded by"),
    )
    withdrawal_channel = models.CharField(
        _("withdrawal channel"), max_length=16, choices=ConsentChannel.choices, blank=True
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="customers_one_active_consent_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.purpose}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class CustomFieldDefinition(models.Model):
    """A field an administrator adds to one kind of customer. The values live on the customer
    (`Customer.custom_fields[key]`); changing or deactivating a definition never rewrites them.
    Kind, key and type are fixed once defined."""

    customer_kind = models.CharField(
        _("kind of customer"), max_length=16, choices=CustomerKind.choices
    )
    key = models.CharField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("custom customer field")
        verbose_name_plural = _("custom customer fields")
        ordering = ("customer_kind", "order", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_kind", "key"], name="customers_custom_field_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(customer_kind__in=CustomerKind.values),
                name="customers_custom_field_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(field_type__in=CustomFieldType.values),
                name="customers_custom_field_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_kind}:{self.key}"
