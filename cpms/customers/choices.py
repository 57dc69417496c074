"""Kinds and states of the customer registry (product.md §2)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.transitions import StateMachine


class CustomerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ORGANISATION = "organisation", _("Organisation")


class IdentityKind(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    USCC = "uscc", _("Unified Social Credit Code")
    OTHER = "other", _("Other document")


# Which identity documents fit which kind of customer.
IDENTITY_KINDS_FOR = {
    CustomerKind.INDIVIDUAL: (IdentityKind.RESIDENT_ID, IdentityKind.PASSPORT, IdentityKind.OTHER),
    CustomerKind.ORGANISATION: (IdentityKind.USCC, IdentityKind.OTHER),
}


class KycStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    VERIFIED = "verified", _("Verified")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")


class RiskRating(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# Years between KYC reviews by risk rating (product.md §6: KYC refresh by risk rating).
KYC_REVIEW_YEARS = {RiskRating.LOW: 3, RiskRating.MEDIUM: 2, RiskRating.HIGH: 1}


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("customer status", "Active")
    DORMANT = "dormant", pgettext_lazy("customer status", "Dormant")
    CLOSED = "closed", pgettext_lazy("customer status", "Closed")


# The status lifecycle: the only transitions allowed, one audit entry each. Closed is final.
CUSTOMER_STATES = StateMachine.from_targets(
    "customer",
    {
        CustomerStatus.ACTIVE: (CustomerStatus.DORMANT, CustomerStatus.CLOSED),
        CustomerStatus.DORMANT: (CustomerStatus.ACTIVE, CustomerStatus.CLOSED),
        CustomerStatus.CLOSED: (),
    },
)


class ConsentPurpose(models.TextChoices):
    SERVICE = "service", _("Processing for the service")
    MARKETING = "marketing", _("Marketing")
    DATA_SHARING = "data_sharing", _("Sharing with third parties")
    CROSS_BORDER = "cross_border", _("Cross-border transfer")
    PROFILING = "profiling", _("Profiling and analysis")


class ConsentChannel(models.TextChoices):
    BRANCH = "branch", _("In branch, signed")
    ONLINE = "online", _("Online")
    PHONE = "phone", _("By phone, recorded")
    PAPER = "paper", _("Paper form")
    API = "api", _("Through the API")


class CustomFieldType(models.TextChoices):
    TEXT = "text", pgettext_lazy("custom field type", "Text")
    INTEGER = "integer", pgettext_lazy("custom field type", "Whole number")
    DECIMAL = "decimal", pgettext_lazy("custom field type", "Decimal number")
    DATE = "date", pgettext_lazy("custom field type", "Date")
    BOOLEAN = "boolean", pgettext_lazy("custom field type", "Yes or no")
    CHOICE = "choice", pgettext_lazy("custom field type", "Choice from a list")
