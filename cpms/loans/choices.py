"""Enumerations of loan servicing."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.transitions import StateMachine


class PaidFrom(models.TextChoices):
    """Where disbursed money goes / where repaid money comes from."""

    CUSTOMER_CASH = "customer_cash", _("Customer money account")
    CLIENT_BANK = "client_bank", _("Client-money bank account")


class LoanState(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("loan state", "Active")
    REPAID = "repaid", pgettext_lazy("loan state", "Repaid")


# a loan is repaid once, by the repayment that clears principal and interest
LOAN_STATES = StateMachine.from_targets(
    "loan", {LoanState.ACTIVE: (LoanState.REPAID,), LoanState.REPAID: ()}, field="state"
)


class Bucket(models.TextChoices):
    """Overdue buckets by days past due of the oldest unpaid instalment."""

    CURRENT = "current", _("Current")
    DPD_1_30 = "1-30", _("1–30 days")
    DPD_31_60 = "31-60", _("31–60 days")
    DPD_61_90 = "61-90", _("61–90 days")
    DPD_OVER_90 = "90+", _("Over 90 days")
    NOT_DISBURSED = "not_disbursed", _("Not disbursed")


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return Bucket.CURRENT
    if days_past_due <= 30:
        return Bucket.DPD_1_30
    if days_past_due <= 60:
        return Bucket.DPD_31_60
    if days_past_due <= 90:
        return Bucket.DPD_61_90
    return Bucket.DPD_OVER_90
