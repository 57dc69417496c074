"""The double-entry ledger.

- `Asset`: what is counted (a currency, points, units of an instrument) and its minor-unit
  exponent. Every amount is an integer number of minor units of one asset.
- `Account`: a customer account (linked to the customer and the property item it records) or
  an internal account of the firm. Its balance lives in `Balance` rows ("shards"): one for an
  ordinary account, several for a busy internal account so that concurrent postings lock
  different rows. Balance = sum of the shards.
- `Transfer`: one debit and one credit of the same amount and asset. Rows are never edited or
  deleted: a hold is a `pending` row resolved by a `post_pending` or `void_pending` row; a
  correction is a reversal row linked to the original. Each row names the shard it moved on
  either side, so every shard equals the sum of its transfers (`cpms ledger check`).
- `PeriodClose`: no posting may be dated on or before the latest close.

The no-negative rule is also a CHECK constraint on `Balance`, so the database itself refuses a
customer balance below zero whatever code path writes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.ledger.choices import (
    AccountKind,
    AccountPurpose,
    AccountStatus,
    AssetKind,
    NormalSide,
    TransferKind,
)

VIEW_PERMISSION = "ledger.view"
POST_PERMISSION = "ledger.post"
CLOSE_PERMISSION = "ledger.close"


class Asset(models.Model):
    code = models.CharField(_("code"), max_length=24, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=AssetKind.choices)
    exponent = models.PositiveSmallIntegerField(_("minor-unit digits"))
    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering = ("code",)

    def __str__(self) -> str:
        return self.code


class Account(models.Model):
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    purpose = models.CharField(_("purpose"), max_length=24, choices=AccountPurpose.choices)
    normal_side = models.CharField(_("normal side"), max_length=1, choices=NormalSide.choices)
    no_negative = models.BooleanField(_("may not go negative"), default=False)
    shards = models.PositiveSmallIntegerField(_("balance shards"), default=1)
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.OPEN
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
        verbose_name=_("customer"),
    )
    holding = models.ForeignKey(
        "holdings.Holding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
        verbose_name=_("property item"),
    )
    # for the client-money bank account: the bank's account identifier (IBAN or number) that
    # statements carry, so reconciliation can find the account
    bank_account_identifier = models.CharField(
        _("bank account identifier"), max_length=64, blank=True, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ("code",)
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=AccountKind.INTERNAL) | Q(customer__isnull=False),
                name="ledger_account_customer_has_owner",
            ),
            models.CheckConstraint(
                condition=Q(shards__gte=1) & Q(shards__lte=64), name="ledger_account_shards"
            ),
        ]
        indexes = [models.Index(fields=["customer", "purpose"], name="ledger_acct_cust_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Balance(models.Model):
    """One shard of an account's balance. `normal_side` and `no_negative` repeat the account's
    (never changed) so the CHECK constraint can hold the rule on the row itself."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="balances")
    shard = models.PositiveSmallIntegerField()
    normal_side = models.CharField(max_length=1, choices=NormalSide.choices)
    no_negative = models.BooleanField(default=False)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "shard"], name="ledger_balance_shard"),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0)
                & Q(credits_posted__gte=0)
                & Q(debits_pending__gte=0)
                & Q(credits_pending__gte=0),
                name="ledger_balance_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(no_negative=False)
                | Q(
                    normal_side=NormalSide.CREDIT,
                    credits_posted__gte=F("debits_posted") + F("debits_pending"),
                )
                | Q(
                    normal_side=NormalSide.DEBIT,
                    debits_posted__gte=F("credits_posted") + F("credits_pending"),
                ),
                name="ledger_balance_no_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.shard}"


class Transfer(models.Model):
    id = models.BigAutoField(primary_key=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TransferKind.choices)
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="debits", verbose_name=_("debit account")
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credits", verbose_name=_("credit account")
    )
    debit_shard = models.PositiveSmallIntegerField(default=0)
    credit_shard = models.PositiveSmallIntegerField(default=0)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(_("amount (minor units)"))
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    value_date = models.DateField(_("value date"))
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    # a post_pending / void_pending row resolves exactly one pending row
    pending = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resolution",
        verbose_name=_("hold"),
    )
    # a reversal undoes exactly one posted row
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        verbose_name=_("reverses"),
    )
    batch = models.UUIDField(_("batch"), null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    approval_request = models.ForeignKey(
        "approvals.ApprovalRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_transfer_amount"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="ledger_transfer_two_accounts",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=(TransferKind.POST_PENDING, TransferKind.VOID_PENDING),
                    pending__isnull=False,
                )
                | Q(
                    kind__in=(TransferKind.POSTED, TransferKind.PENDING),
                    pending__isnull=True,
                ),
                name="ledger_transfer_resolution_links_hold",
            ),
        ]
        indexes = [
            models.Index(fields=["debit_account", "value_date", "id"], name="ledger_tr_debit_idx"),
            models.Index(
                fields=["credit_account", "value_date", "id"], name="ledger_tr_credit_idx"
            ),
            models.Index(
                fields=["expires_at"],
                name="ledger_tr_pending_idx",
                condition=Q(kind=TransferKind.PENDING),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.debit_account_id}->{self.credit_account_id} {self.amount}"


class PeriodClose(models.Model):
    """Closing the books through a date: nothing may be posted with a value date on or before
    it afterwards. Closes only move forward and are never removed."""

    through = models.DateField(_("closed through"), unique=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-through",)

    def __str__(self) -> str:
        return self.through.isoformat()
