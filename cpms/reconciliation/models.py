"""Bank statements imported for a client-money bank account, their lines, the matches of lines
to ledger transfers, breaks (what does not reconcile) and user-defined CSV profiles.

Nothing is edited away: a match that is undone keeps its row with `undone_at`; a resolved break
keeps its row with the resolution note."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.reconciliation.choices import BalanceCheck, BreakKind, BreakStatus, MatchHow

VIEW_PERMISSION = "ledger.view"
RECONCILE_PERMISSION = "ledger.reconcile"


class BankStatement(models.Model):
    account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="bank_statements",
        verbose_name=_("bank account"),
    )
    format = models.CharField(_("format"), max_length=16)
    profile = models.CharField(_("CSV profile"), max_length=64, blank=True)
    statement_id = models.CharField(_("statement id"), max_length=140, blank=True)
    account_identifier = models.CharField(_("account in the file"), max_length=140, blank=True)
    currency = models.CharField(_("currency"), max_length=8)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    position = models.PositiveIntegerField(_("position in the file"), default=0)
    opening_minor = models.BigIntegerField(_("opening balance"), null=True, blank=True)
    opening_date = models.DateField(_("opening date"), null=True, blank=True)
    closing_minor = models.BigIntegerField(_("closing balance"), null=True, blank=True)
    closing_date = models.DateField(_("closing date"), null=True, blank=True)
    entries_total_minor = models.BigIntegerField(_("entries total"), default=0)
    consistent = models.BooleanField(_("adds up"), default=False)
    # adds up / does not add up / not checkable (the file gives no balance at all)
    balance_check = models.CharField(
        _("balance check"),
        max_length=16,
        choices=BalanceCheck.choices,
        default=BalanceCheck.DOES_NOT_ADD_UP,
    )
    problems = models.JSONField(_("problems"), default=list, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ("-imported_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "file_sha256", "position"], name="recon_statement_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.statement_id or self.pk} ({self.account_id})"


class BankStatementLine(models.Model):
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    index = models.PositiveIntegerField(_("line"))
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount_minor = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=8)
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    counterparty = models.CharField(_("counterparty"), max_length=255, blank=True)
    counterparty_account = models.CharField(_("counterparty account"), max_length=140, blank=True)
    bank_code = models.CharField(_("bank transaction code"), max_length=64, blank=True)
    running_balance_minor = models.BigIntegerField(_("running balance"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ("statement", "index")
        constraints = [
            models.UniqueConstraint(fields=["statement", "index"], name="recon_line_index")
        ]
        # the workspace filters open lines by date and amount (docs/reconciliation.md)
        indexes = [
            models.Index(fields=["statement", "booking_date"], name="recon_line_date_idx"),
            models.Index(fields=["amount_minor"], name="recon_line_amount_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}/{self.index}"

    @property
    def match_date(self) -> datetime.date:
        """The date auto-matching compares: the value date, else the booking date."""
        return self.value_date or self.booking_date


class CsvProfileRecord(models.Model):
    """A user-defined CSV column-mapping profile, stored as `CsvProfile.to_dict()`."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    label = models.CharField(_("label"), max_length=200, blank=True)
    definition = models.JSONField(_("definition"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("CSV profile")
        verbose_name_plural = _("CSV profiles")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Match(models.Model):
    """A statement line matched to one ledger transfer. At most one active (not undone) match
    per line and per transfer; undoing sets `undone_at` and keeps the row."""

    line = models.ForeignKey(BankStatementLine, on_delete=models.PROTECT, related_name="matches")
    transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="bank_matches"
    )
    how = models.CharField(_("how"), max_length=8, choices=MatchHow.choices)
    matched_at = models.DateTimeField(_("matched at"), default=timezone.now)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undo_reason = models.CharField(_("reason for undoing"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ("-pk",)
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(undone_at__isnull=True), name="recon_line_once"
            ),
            models.UniqueConstraint(
                fields=["transfer"],
                condition=Q(undone_at__isnull=True),
                name="recon_transfer_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}<->{self.transfer_id}"


class Break(models.Model):
    account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+", verbose_name=_("bank account")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=BreakKind.choices)
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="breaks"
    )
    line = models.ForeignKey(
        BankStatementLine, on_delete=models.PROTECT, null=True, blank=True, related_name="breaks"
    )
    transfer = models.ForeignKey(
        "ledger.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount_minor = models.BigIntegerField(_("amount"), default=0)
    description = models.CharField(_("description"), max_length=500, blank=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=BreakStatus.choices, default=BreakStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("break")
        verbose_name_plural = _("breaks")
        ordering = ("opened_at", "pk")
        indexes = [models.Index(fields=["account", "status"], name="recon_break_open_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class ReconciliationReport(models.Model):
    """The daily report as recorded by the job (or on demand): one row per day."""

    date = models.DateField(_("date"), unique=True)
    data = models.JSONField(_("data"))
    written_at = models.DateTimeField(_("written at"), default=timezone.now)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-date",)

    def __str__(self) -> str:
        return self.date.isoformat()
