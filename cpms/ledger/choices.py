"""Enumerations of the ledger: asset kinds, account kinds and purposes, transfer kinds."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AssetKind(models.TextChoices):
    CURRENCY = "currency", _("Currency")
    POINTS = "points", _("Loyalty points")
    UNITS = "units", _("Units of an instrument")


class AccountKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer account")
    INTERNAL = "internal", _("Internal account")


class NormalSide(models.TextChoices):
    """The side that increases the balance: customer money held is owed to the customer
    (credit-normal); the client-money bank account and loans receivable are debit-normal."""

    DEBIT = "D", _("Debit")
    CREDIT = "C", _("Credit")


class AccountPurpose(models.TextChoices):
    # customer accounts
    CUSTOMER_CASH = "customer_cash", _("Customer money")
    CUSTOMER_POINTS = "customer_points", _("Customer points")
    CUSTOMER_UNITS = "customer_units", _("Customer units")
    LOAN_PRINCIPAL = "loan_principal", _("Loan principal receivable")
    LOAN_INTEREST = "loan_interest", _("Loan interest receivable")
    # internal accounts
    CLIENT_BANK = "client_bank", _("Client-money bank account")
    SETTLEMENT = "settlement", _("Settlement")
    FEES = "fees", _("Fee income")
    INTEREST = "interest", _("Interest income")
    LOAN_FUNDING = "loan_funding", _("Loan funding")
    POINTS_ISSUANCE = "points_issuance", _("Points issuance")
    POINTS_BREAKAGE = "points_breakage", _("Points breakage")
    UNITS_CUSTODY = "units_custody", _("Units held at the custodian")
    SUSPENSE = "suspense", _("Suspense")


CUSTOMER_PURPOSES = frozenset(
    {
        AccountPurpose.CUSTOMER_CASH,
        AccountPurpose.CUSTOMER_POINTS,
        AccountPurpose.CUSTOMER_UNITS,
        AccountPurpose.LOAN_PRINCIPAL,
        AccountPurpose.LOAN_INTEREST,
    }
)

# the normal side of each purpose (what a positive balance means)
PURPOSE_NORMAL_SIDE = {
    AccountPurpose.CUSTOMER_CASH: NormalSide.CREDIT,
    AccountPurpose.CUSTOMER_POINTS: NormalSide.CREDIT,
    AccountPurpose.CUSTOMER_UNITS: NormalSide.CREDIT,
    AccountPurpose.LOAN_PRINCIPAL: NormalSide.DEBIT,
    AccountPurpose.LOAN_INTEREST: NormalSide.DEBIT,
    AccountPurpose.CLIENT_BANK: NormalSide.DEBIT,
    AccountPurpose.SETTLEMENT: NormalSide.DEBIT,
    AccountPurpose.FEES: NormalSide.CREDIT,
    AccountPurpose.INTEREST: NormalSide.CREDIT,
    AccountPurpose.LOAN_FUNDING: NormalSide.CREDIT,
    AccountPurpose.POINTS_ISSUANCE: NormalSide.DEBIT,
    AccountPurpose.POINTS_BREAKAGE: NormalSide.CREDIT,
    AccountPurpose.UNITS_CUSTODY: NormalSide.DEBIT,
    AccountPurpose.SUSPENSE: NormalSide.DEBIT,
}

# internal accounts that many transfers touch: their balance is spread over shards so that
# concurrent writers lock different rows (none of them is forbidden to go negative)
HOT_PURPOSES = frozenset(
    {
        AccountPurpose.CLIENT_BANK,
        AccountPurpose.SETTLEMENT,
        AccountPurpose.FEES,
        AccountPurpose.INTEREST,
        AccountPurpose.LOAN_FUNDING,
        AccountPurpose.POINTS_ISSUANCE,
        AccountPurpose.POINTS_BREAKAGE,
        AccountPurpose.UNITS_CUSTODY,
        AccountPurpose.SUSPENSE,
    }
)
HOT_SHARDS = 16


class AccountStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("ledger account status", "Open")
    CLOSED = "closed", pgettext_lazy("ledger account status", "Closed")


class TransferKind(models.TextChoices):
    """Rows are never edited: a hold is a `pending` row; posting it adds a `post_pending` row,
    voiding it a `void_pending` row, each linked to the hold."""

    POSTED = "posted", pgettext_lazy("transfer kind", "Posted")
    PENDING = "pending", pgettext_lazy("transfer kind", "Pending")
    POST_PENDING = "post_pending", pgettext_lazy("transfer kind", "Posted from pending")
    VOID_PENDING = "void_pending", pgettext_lazy("transfer kind", "Voided")


class HoldState(models.TextChoices):
    """The state of a pending transfer, derived from its resolution (if any)."""

    PENDING = "pending", pgettext_lazy("hold state", "Pending")
    POSTED = "posted", pgettext_lazy("hold state", "Posted")
    VOIDED = "voided", pgettext_lazy("hold state", "Voided")


POSTED_KINDS = (TransferKind.POSTED, TransferKind.POST_PENDING)
