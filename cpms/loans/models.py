"""Loan servicing: the state of a disbursed loan (a `holdings.Holding` of kind "loan" with its
`LoanDetail` terms), its interest accruals and repayments, and how each repayment was allocated
to the instalments of the schedule. Money moves only as ledger transfers; these rows record
what was posted and why, and are never edited (except the running totals of `LoanServicing`).

Accrual exactness: interest for one day is `principal × rate ÷ 36 500` (actual/365, rate in
per cent a year). `accrued_numerator` keeps the exact cumulative interest as an integer over
`ACCRUAL_DENOMINATOR` (rate has at most 6 decimals), and each accrual posts
`round_half_up(cumulative) − already posted`, so no fraction of a fen is lost or invented."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cpms.loans.choices import LoanState, PaidFrom

VIEW_PERMISSION = "ledger.view"
POST_PERMISSION = "ledger.post"
RATE_SCALE = 1_000_000  # the rate has 6 decimal places
ACCRUAL_DENOMINATOR = 365 * 100 * RATE_SCALE


class LoanServicing(models.Model):
    holding = models.OneToOneField(
        "holdings.Holding",
        on_delete=models.PROTECT,
        related_name="servicing",
        verbose_name=_("property"),
    )
    currency = models.CharField(_("currency"), max_length=3)
    # the terms at disbursement (principal_minor, annual_rate_percent, term_months, method,
    # start_date): the schedule is computed from these, whatever later edits of the holding do
    terms = models.JSONField(_("terms at disbursement"))
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    disbursed_on = models.DateField(_("disbursed on"))
    disbursed_to = models.CharField(_("paid out to"), max_length=16, choices=PaidFrom.choices)
    principal_account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+"
    )
    interest_account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+"
    )
    disbursement = models.OneToOneField(
        "ledger.Transfer", on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=LoanState.choices, default=LoanState.ACTIVE
    )
    closed_on = models.DateField(_("repaid on"), null=True, blank=True)
    # running totals (kept under the row lock by the services)
    accrued_through = models.DateField(_("interest accrued through"))
    accrued_numerator = models.CharField(max_length=80, default="0")
    interest_accrued_minor = models.BigIntegerField(_("interest accrued"), default=0)
    interest_paid_minor = models.BigIntegerField(_("interest paid"), default=0)
    principal_paid_minor = models.BigIntegerField(_("principal repaid"), default=0)
    last_event_on = models.DateField(_("last event on"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("serviced loan")
        verbose_name_plural = _("serviced loans")
        indexes = [models.Index(fields=["state", "accrued_through"], name="loans_state_idx")]

    def __str__(self) -> str:
        return f"loan {self.holding_id}"

    @property
    def principal_outstanding_minor(self) -> int:
        return self.principal_minor - self.principal_paid_minor

    @property
    def interest_unpaid_minor(self) -> int:
        return self.interest_accrued_minor - self.interest_paid_minor


class LoanAccrual(models.Model):
    """Interest accrued for the days after the previous accrual through `through`. Accrual runs
    are split at instalment due dates, so each row belongs to exactly one instalment period."""

    loan = models.ForeignKey(LoanServicing, on_delete=models.PROTECT, related_name="accruals")
    through = models.DateField(_("through"))
    days = models.PositiveIntegerField(_("days"))
    principal_minor = models.BigIntegerField(_("principal accrued on"))
    numerator = models.CharField(max_length=80)  # cumulative, over ACCRUAL_DENOMINATOR
    amount_minor = models.BigIntegerField(_("interest (minor units)"))
    transfer = models.OneToOneField(
        "ledger.Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("interest accrual")
        verbose_name_plural = _("interest accruals")
        constraints = [
            models.UniqueConstraint(fields=["loan", "through"], name="loans_accrual_day"),
            models.CheckConstraint(
                condition=models.Q(amount_minor__gte=0), name="loans_accrual_amount"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.through} {self.amount_minor}"


class LoanRepayment(models.Model):
    loan = models.ForeignKey(LoanServicing, on_delete=models.PROTECT, related_name="repayments")
    sequence = models.PositiveIntegerField(_("number"))
    value_date = models.DateField(_("value date"))
    source = models.CharField(_("paid from"), max_length=16, choices=PaidFrom.choices)
    early = models.BooleanField(_("early settlement"), default=False)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    interest_minor = models.BigIntegerField(_("to interest"))
    principal_minor = models.BigIntegerField(_("to principal"))
    fee_minor = models.BigIntegerField(_("fee"), default=0)
    idempotency_key = models.CharField(_("idempotency key"), max_length=60, blank=True)
    transfer_ids = models.JSONField(_("transfers"), default=list)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        constraints = [
            models.UniqueConstraint(fields=["loan", "sequence"], name="loans_repayment_seq"),
            models.UniqueConstraint(
                fields=["loan", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="loans_repayment_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} #{self.sequence} {self.amount_minor}"


class RepaymentAllocation(models.Model):
    """How much of a repayment went to which instalment (append-only, written with it)."""

    repayment = models.ForeignKey(
        LoanRepayment, on_delete=models.PROTECT, related_name="allocations"
    )
    loan = models.ForeignKey(LoanServicing, on_delete=models.PROTECT, related_name="+")
    # the ledger transfer that moved the principal (or, for interest only, the interest)
    transfer = models.ForeignKey("ledger.Transfer", on_delete=models.PROTECT, related_name="+")
    instalment_number = models.PositiveIntegerField(_("instalment"))
    due_on = models.DateField(_("due on"))
    principal_minor = models.BigIntegerField(_("principal"))
    interest_minor = models.BigIntegerField(_("interest"))

    class Meta:
        verbose_name = _("repayment allocation")
        verbose_name_plural = _("repayment allocations")
        indexes = [models.Index(fields=["loan", "instalment_number"], name="loans_alloc_idx")]

    def __str__(self) -> str:
        return f"{self.repayment_id} -> #{self.instalment_number}"
