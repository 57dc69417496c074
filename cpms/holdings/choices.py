"""Vocabularies of the property register. Values are stored: never rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpms.core.transitions import StateMachine


class HoldingKind(models.TextChoices):
    ACCOUNT = "account", _("Cash / client-money account")
    PORTFOLIO = "portfolio", _("Investment portfolio")
    LOAN = "loan", _("Loan agreement")
    MEMBERSHIP = "membership", _("Loyalty membership")
    CUSTODY_ITEM = "custody_item", _("Item in custody")
    INTELLECTUAL_PROPERTY = "intellectual_property", _("Intellectual property")
    CONTRACT = "contract", _("Contract / document")
    DATA_ASSET = "data_asset", _("Personal-data asset")


class HoldingStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("holding status", "Active")
    SUSPENDED = "suspended", pgettext_lazy("holding status", "Suspended")
    CLOSED = "closed", pgettext_lazy("holding status", "Closed")
    RETURNED = "returned", pgettext_lazy("holding status", "Returned to customer")
    DISPOSED = "disposed", pgettext_lazy("holding status", "Disposed of")


# status -> statuses it may move to through holdings.services.holding_status_change; custody
# items move only through the custody state machine (cpms/custody/), which sets RETURNED/DISPOSED.
HOLDING_STATES = StateMachine.from_targets(
    "holding",
    {
        HoldingStatus.ACTIVE: (HoldingStatus.SUSPENDED, HoldingStatus.CLOSED),
        HoldingStatus.SUSPENDED: (HoldingStatus.ACTIVE, HoldingStatus.CLOSED),
        HoldingStatus.CLOSED: (),
        HoldingStatus.RETURNED: (),
        HoldingStatus.DISPOSED: (),
    },
)
# the end of an item in custody, set by the custody state machine through
# holdings.services.holding_custody_status_set (returned to the customer, or disposed of)
CUSTODY_ITEM_END = StateMachine.from_targets(
    "holding of an item in custody",
    {
        HoldingStatus.ACTIVE: (HoldingStatus.RETURNED, HoldingStatus.DISPOSED),
        HoldingStatus.SUSPENDED: (HoldingStatus.RETURNED, HoldingStatus.DISPOSED),
        HoldingStatus.CLOSED: (HoldingStatus.RETURNED, HoldingStatus.DISPOSED),
    },
)


class AccountType(models.TextChoices):
    BANK = "bank", _("Bank account")
    CLIENT_MONEY = "client_money", _("Client-money account")
    CARD = "card", _("Card")


class AssetClass(models.TextChoices):
    EQUITY = "equity", _("Equity")
    BOND = "bond", _("Bond")
    FUND = "fund", _("Fund")
    CASH = "cash", pgettext_lazy("asset class", "Cash")
    COMMODITY = "commodity", _("Commodity")
    OTHER = "other", pgettext_lazy("asset class", "Other")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALMENT = "equal_instalment", _("Equal instalments (等额本息)")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal (等额本金)")


class IntellectualPropertyType(models.TextChoices):
    PATENT = "patent", _("Patent")
    TRADEMARK = "trademark", _("Trademark")
    COPYRIGHT = "copyright", _("Copyright")
    OTHER = "other", pgettext_lazy("intellectual property type", "Other")


class LawfulBasis(models.TextChoices):
    """Legal bases for processing personal information (PIPL art. 13)."""

    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Performance of a contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal duty or obligation")
    PUBLIC_HEALTH = "public_health", _("Public health emergency")
    PUBLIC_INTEREST = "public_interest", _("News reporting in the public interest")
    DISCLOSED = "disclosed", _("Information already lawfully disclosed")
    OTHER = "other", pgettext_lazy("lawful basis", "Other")


# kinds whose details this app keeps (custody items keep theirs in cpms/custody/)
DETAIL_KINDS = (
    HoldingKind.ACCOUNT,
    HoldingKind.PORTFOLIO,
    HoldingKind.LOAN,
    HoldingKind.MEMBERSHIP,
    HoldingKind.INTELLECTUAL_PROPERTY,
    HoldingKind.CONTRACT,
    HoldingKind.DATA_ASSET,
)
