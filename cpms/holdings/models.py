"""The property register: one `Holding` per item a customer owns or entrusts to the firm, of
every kind (choices.HoldingKind), with its valuation history. Kind-specific data lives in
detail models linked one-to-one to the holding (accounts, portfolios, loans, … here; items in
custody in `cpms/custody/`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.access.scopes import scoped
from cpms.holdings.choices import (
    AccountType,
    AssetClass,
    HoldingKind,
    HoldingStatus,
    IntellectualPropertyType,
    LawfulBasis,
    RepaymentMethod,
)
from cpms.privacy.choices import PiiKind
from cpms.privacy.protected import PiiField, ProtectedFields

VIEW_PERMISSION = "holdings.view"
MANAGE_PERMISSION = "holdings.manage"
QUANTITY = {"max_digits": 24, "decimal_places": 8}


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


# --- kind-specific details ----------------------------------------------------------------


def _visible_accounts(user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """Reveal and other reads of an account number reach only holdings the user may view."""
    return scoped(queryset, user=user, permission=VIEW_PERMISSION)


def _account_subject(detail: AccountDetail) -> tuple[str, str]:
    # encrypted with the owner customer's data key: erasing the customer erases the number
    return ("customers.customer", str(detail.customer_id))


class AccountDetail(models.Model):
    holding = models.OneToOneField(
        Holding, on_delete=models.PROTECT, related_name="account", verbose_name=_("property")
    )
    # copy of holding.customer_id: the data-key subject, readable without a join
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    account_type = models.CharField(_("account type"), max_length=16, choices=AccountType.choices)
    institution = models.CharField(_("institution"), max_length=200)
    number_encrypted = models.TextField(blank=True, default="")
    number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # what validation accepted with a warning: [{"field", "code", "message"}]
    data_warnings = models.JSONField(_("data warnings"), default=list, blank=True)

    pii = ProtectedFields(
        fields={"number": PiiField(PiiKind.BANK_ACCOUNT, "number_encrypted", "number_index")},
        subject=_account_subject,
        scope=_visible_accounts,
    )

    class Meta:
        verbose_name = _("account details")
        verbose_name_plural = _("account details")
        constraints = [
            models.CheckConstraint(
                condition=Q(account_type__in=AccountType.values), name="holdings_account_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holding_id} {self.institution}"


class PortfolioPosition(models.Model):
    holding = models.ForeignKey(
        Holding, on_delete=models.PROTECT, related_name="positions", verbose_name=_("portfolio")
    )
    instrument_code = models.CharField(_("instrument code"), max_length=40)
    instrument_name = models.CharField(_("instrument name"), max_length=200, blank=True)
    asset_class = models.CharField(_("asset class"), max_length=16, choices=AssetClass.choices)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    cost_minor = models.BigIntegerField(_("cost (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["holding", "instrument_code"], name="holdings_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(asset_class__in=AssetClass.values), name="holdings_asset_class_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holding_id} {self.instrument_code} {self.quantity}"


class InstrumentPrice(models.Model):
    """A market price of one unit of an instrument on a day (market data, not customer data)."""

    instrument_code = models.CharField(_("instrument code"), max_length=40)
    price = models.DecimalField(_("price per unit"), **QUANTITY)
    currency = models.CharField(_("currency"), max_length=3)
    priced_on = models.DateField(_("priced on"))
    source = models.CharField(_("source"), max_length=80, default="import")
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )

    class Meta:
        verbose_name = _("instrument price")
        verbose_name_plural = _("instrument prices")
        constraints = [
            models.UniqueConstraint(
                fields=["instrument_code", "currency", "priced_on", "source"],
                name="holdings_price_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["instrument_code", "-priced_on"], name="holdings_price_latest_idx")
        ]

    def __str__(self) -> str:
        return f"{self.instrument_code} {self.price} {self.currency} @ {self.priced_on}"


class LoanDetail(models.Model):
    holding = models.OneToOneField(
        Holding, on_delete=models.PROTECT, related_name="loan", verbose_name=_("property")
    )
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    # per cent a year, e.g. 4.35
    annual_rate_percent = models.DecimalField(_("annual rate (%)"), max_digits=9, decimal_places=6)
    term_months = models.PositiveIntegerField(_("term (months)"))
    method = models.CharField(_("repayment method"), max_length=20, choices=RepaymentMethod.choices)
    start_date = models.DateField(_("start date"))
    schedule_generated_at = models.DateTimeField(_("schedule generated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan details")
        verbose_name_plural = _("loan details")
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=RepaymentMethod.values), name="holdings_loan_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(principal_minor__gt=0), name="holdings_loan_principal_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holding_id} {self.principal_minor} {self.currency}"


class LoanInstalment(models.Model):
    """One line of a loan's repayment schedule (generated, never edited by hand)."""

    loan = models.ForeignKey(
        LoanDetail, on_delete=models.CASCADE, related_name="instalments", verbose_name=_("loan")
    )
    number = models.PositiveIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    interest_minor = models.BigIntegerField(_("interest (minor units)"))
    payment_minor = models.BigIntegerField(_("payment (minor units)"))
    balance_after_minor = models.BigIntegerField(_("balance after (minor units)"))

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="holdings_instalment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} #{self.number} {self.due_on}"


class MembershipDetail(models.Model):
    holding = models.OneToOneField(
        Holding, on_delete=models.PROTECT, related_name="membership", verbose_name=_("property")
    )
    programme = models.CharField(_("programme"), max_length=120)
    member_number = models.CharField(_("member number"), max_length=60)
    tier = models.CharField(_("tier"), max_length=60, blank=True)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership details")
        verbose_name_plural = _("membership details")

    def __str__(self) -> str:
        return f"{self.programme} {self.member_number}"


class IntellectualPropertyDetail(models.Model):
    holding = models.OneToOneField(
        Holding,
        on_delete=models.PROTECT,
        related_name="intellectual_property",
        verbose_name=_("property"),
    )
    ip_type = models.CharField(_("type"), max_length=16, choices=IntellectualPropertyType.choices)
    registration_number = models.CharField(_("registration number"), max_length=80)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=60)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("intellectual property details")
        verbose_name_plural = _("intellectual property details")

    def __str__(self) -> str:
        return f"{self.ip_type} {self.registration_number}"


class ContractDetail(models.Model):
    holding = models.OneToOneField(
        Holding, on_delete=models.PROTECT, related_name="contract", verbose_name=_("property")
    )
    contract_number = models.CharField(_("contract number"), max_length=80)
    counterparty = models.CharField(_("counterparty"), max_length=200)
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contract details")
        verbose_name_plural = _("contract details")

    def __str__(self) -> str:
        return f"{self.contract_number} {self.counterparty}"


class DataAssetDetail(models.Model):
    holding = models.OneToOneField(
        Holding, on_delete=models.PROTECT, related_name="data_asset", verbose_name=_("property")
    )
    category = models.CharField(_("category"), max_length=120)
    system = models.CharField(_("system"), max_length=120)
    record_count = models.PositiveBigIntegerField(_("record count"), default=0)
    lawful_basis = models.CharField(_("lawful basis"), max_length=20, choices=LawfulBasis.choices)
    retention_until = models.DateField(_("retained until"), null=True, blank=True)

    class Meta:
        verbose_name = _("data asset details")
        verbose_name_plural = _("data asset details")

    def __str__(self) -> str:
        return f"{self.category} @ {self.system}"
