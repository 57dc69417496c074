"""Scoped reads of the ledger: accounts with balances, transfers, holds, statements and the
trial balance. Customer accounts follow the customer's scope; internal accounts are visible to
every holder of `ledger.view`. Out of scope looks exactly like missing (404)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission, user_has_permission
from cpms.access.scopes import scope_filter
from cpms.customers.models import Customer
from cpms.holdings.models import Holding
from cpms.ledger import display
from cpms.ledger.choices import POSTED_KINDS, AccountKind, HoldState, NormalSide, TransferKind
from cpms.ledger.errors import AccountNotFound, TransferNotFound
from cpms.ledger.models import VIEW_PERMISSION, Account, Balance, PeriodClose, Transfer


@dataclass(frozen=True)
class AccountBalance:
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    normal_side: str

    @property
    def posted(self) -> int:
        """The balance on the account's normal side (positive = what it normally holds)."""
        if self.normal_side == NormalSide.CREDIT:
            return self.credits_posted - self.debits_posted
        return self.debits_posted - self.credits_posted

    @property
    def available(self) -> int:
        """Posted balance less outgoing holds."""
        if self.normal_side == NormalSide.CREDIT:
            return self.posted - self.debits_pending
        return self.posted - self.credits_pending


# the largest id a bigint column holds: a longer number names no row (and must not reach the
# database, where it would not fit the column's type)
_MAX_ID = 2**63 - 1


def visible_accounts(user: Any, permission: str = VIEW_PERMISSION) -> QuerySet[Account]:
    require_permission(user, permission)
    condition = scope_filter(user, permission, Account)
    if condition is None:
        query = Account.objects.filter(kind=AccountKind.INTERNAL)
    elif not condition:  # scope "all": an empty Q() would vanish inside an OR
        query = Account.objects.all()
    else:
        query = Account.objects.filter(condition | Q(kind=AccountKind.INTERNAL))
    return query.select_related("asset", "customer", "holding")


def account_get_for_user(*, user: Any, ref: Any, permission: str = VIEW_PERMISSION) -> Account:
    """An account by id or code within the user's scope; 404 otherwise."""
    account = accounts_for_user(user, [str(ref)], permission).get(str(ref))
    if account is None:
        raise AccountNotFound()
    return account


def accounts_for_user(
    user: Any, refs: Iterable[str], permission: str = VIEW_PERMISSION
) -> dict[str, Account]:
    """The accounts named by `refs` (ids as digits, or codes) that the user reaches with
    `permission`, keyed by the reference as given, in at most two queries. A reference outside
    the user's scope is simply absent, exactly like one that names nothing: callers build their
    "no such account" reply from the reference alone."""
    wanted = {str(ref) for ref in refs}
    ids = {ref: int(ref) for ref in wanted if ref.isascii() and ref.isdigit()}
    codes = sorted(ref for ref in wanted if ref not in ids)
    query = visible_accounts(user, permission)
    by_id: dict[int, Account] = {}
    by_code: dict[str, Account] = {}
    in_range = sorted({pk for pk in ids.values() if pk <= _MAX_ID})
    if in_range:
        by_id = {account.pk: account for account in query.filter(pk__in=in_range)}
    if codes:
        by_code = {account.code: account for account in query.filter(code__in=codes)}
    found = {ref: by_id[pk] for ref, pk in ids.items() if pk in by_id}
    found.update({ref: by_code[ref] for ref in codes if ref in by_code})
    return found


def account_balance(account: Account) -> AccountBalance:
    totals = Balance.objects.filter(account=account).aggregate(
        dp=Coalesce(Sum("debits_posted"), 0),
        cp=Coalesce(Sum("credits_posted"), 0),
        dh=Coalesce(Sum("debits_pending"), 0),
        ch=Coalesce(Sum("credits_pending"), 0),
    )
    return AccountBalance(
        totals["dp"], totals["cp"], totals["dh"], totals["ch"], account.normal_side
    )


def balances_for(accounts: list[Account]) -> dict[int, AccountBalance]:
    """Balances of many accounts in one query (list pages)."""
    sides = {account.pk: account.normal_side for account in accounts}
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    rows = Balance.objects.filter(account_id__in=list(sides)).values_list(
        "account_id", "debits_posted", "credits_posted", "debits_pending", "credits_pending"
    )
    for account_id, dp, cp, dh, ch in rows:
        total = totals[account_id]
        total[0] += dp
        total[1] += cp
        total[2] += dh
        total[3] += ch
    return {pk: AccountBalance(*totals[pk], sides[pk]) for pk in sides}


def account_list(user: Any, *, filters: Mapping[str, Any] | None = None) -> QuerySet[Account]:
    filters = filters or {}
    query = visible_accounts(user)
    if filters.get("customer_id"):
        query = query.filter(customer_id=filters["customer_id"])
    if filters.get("kind"):
        query = query.filter(kind=filters["kind"])
    if filters.get("purpose"):
        query = query.filter(purpose=filters["purpose"])
    if filters.get("asset"):
        query = query.filter(asset__code=str(filters["asset"]).upper())
    if filters.get("q"):
        text = str(filters["q"]).strip()
        query = query.filter(
            Q(code__icontains=text)
            | Q(name__icontains=text)
            | Q(customer__legal_name__icontains=text)
            | Q(customer__customer_number=text.upper())
        )
    return query.order_by("pk")


def customer_id_by_number(number: str) -> int | None:
    """The id of the customer numbered `number` (the CLI names customers by number). Not
    scoped: `services.account_open` decides scope and answers out of scope like missing."""
    return (
        Customer.objects.filter(customer_number=(number or "").strip())
        .values_list("pk", flat=True)
        .first()
    )


def holding_id_by_number(number: str) -> int | None:
    """The id of the property item numbered `number`. Not scoped: the account's customer
    decides (`services.account_open` refuses another customer's item)."""
    return (
        Holding.objects.filter(holding_number=(number or "").strip())
        .values_list("pk", flat=True)
        .first()
    )


# what a page needs to name both sides of a transfer ("张三 · Customer money · CNY")
_TRANSFER_RELATED = (
    "debit_account__asset",
    "debit_account__customer",
    "debit_account__holding",
    "credit_account__asset",
    "credit_account__customer",
    "credit_account__holding",
    "asset",
    "created_by",
)


def _visible_transfers(user: Any) -> QuerySet[Transfer]:
    accounts = visible_accounts(user).values("pk")
    return Transfer.objects.filter(
        Q(debit_account__in=accounts) | Q(credit_account__in=accounts)
    ).select_related(*_TRANSFER_RELATED)


def _actionable_transfers(user: Any, permission: str) -> QuerySet[Transfer]:
    """Transfers both of whose accounts the user reaches with `permission`: acting on a
    transfer (reverse, post or void a hold) moves both sides."""
    accounts = visible_accounts(user, permission).values("pk")
    return Transfer.objects.filter(
        debit_account__in=accounts, credit_account__in=accounts
    ).select_related(*_TRANSFER_RELATED)


def transfer_actionable(user: Any, transfer: Transfer, permission: str) -> bool:
    """Whether the user may act on `transfer` with `permission` (both sides in scope)."""
    return (
        user_has_permission(user, permission)
        and _actionable_transfers(user, permission).filter(pk=transfer.pk).exists()
    )


def transfer_get_for_user(
    *, user: Any, transfer_id: Any, permission: str = VIEW_PERMISSION
) -> Transfer:
    """A transfer the user may read (`ledger.view`: either side in scope) or act on (any other
    permission, e.g. `ledger.post`: both sides in scope). Anything else, missing or out of
    scope, is the same `TransferNotFound`, which names nothing the caller did not send."""
    try:
        pk = int(transfer_id)
    except (TypeError, ValueError):
        raise TransferNotFound() from None
    if permission == VIEW_PERMISSION:
        query = _visible_transfers(user)
    else:
        query = _actionable_transfers(user, permission)
    transfer = query.filter(pk=pk).first()
    if transfer is None:
        raise TransferNotFound()
    return transfer


def hold_state(transfer: Transfer) -> str | None:
    """pending / posted / voided for a hold; None for any other row."""
    if transfer.kind != TransferKind.PENDING:
        return None
    resolution = Transfer.objects.filter(pending=transfer).values_list("kind", flat=True).first()
    if resolution is None:
        return HoldState.PENDING
    return HoldState.POSTED if resolution == TransferKind.POST_PENDING else HoldState.VOIDED


def transfer_list(user: Any, *, filters: Mapping[str, Any] | None = None) -> QuerySet[Transfer]:
    filters = filters or {}
    query = _visible_transfers(user)
    if filters.get("account_id"):
        account = filters["account_id"]
        query = query.filter(Q(debit_account_id=account) | Q(credit_account_id=account))
    if filters.get("kind"):
        query = query.filter(kind=filters["kind"])
    if filters.get("reference"):
        query = query.filter(reference__icontains=str(filters["reference"]))
    if filters.get("date_from"):
        query = query.filter(value_date__gte=filters["date_from"])
    if filters.get("date_to"):
        query = query.filter(value_date__lte=filters["date_to"])
    return query.order_by("-pk")


def hold_list(user: Any, *, awaiting_approval: bool | None = None) -> QuerySet[Transfer]:
    """Holds not yet posted or voided."""
    resolved = Transfer.objects.filter(pending=OuterRef("pk"))
    query = _visible_transfers(user).filter(kind=TransferKind.PENDING).filter(~Exists(resolved))
    if awaiting_approval is True:
        query = query.filter(approval_request__isnull=False)
    elif awaiting_approval is False:
        query = query.filter(approval_request__isnull=True)
    return query.order_by("-pk")


@dataclass
class StatementLine:
    transfer: Transfer
    debit: int
    credit: int
    balance: int
    counterparty: str  # the other account's code (API clients read it)
    counterparty_name: str = ""  # how people read it (statement pages and files)


@dataclass
class Statement:
    account: Account
    start: datetime.date
    end: datetime.date
    opening: int
    closing: int
    total_debits: int = 0
    total_credits: int = 0
    lines: list[StatementLine] = field(default_factory=list)


def _signed(account: Account, debit: int, credit: int) -> int:
    return credit - debit if account.normal_side == NormalSide.CREDIT else debit - credit


def counterparty_label(account: Account, other: Account) -> str:
    """How a statement names the other side of a line: the firm's internal account and the
    customer's own accounts by name; another customer's account by its purpose only (a
    statement goes to the customer and must not name other customers)."""

    if other.kind == AccountKind.INTERNAL or other.customer_id == account.customer_id:
        return display.account_label(other)
    return _("Another customer's account (%(purpose)s)") % {"purpose": other.get_purpose_display()}


def account_statement(account: Account, *, start: datetime.date, end: datetime.date) -> Statement:
    """Posted movements by value date in [start, end]: opening balance (everything posted with
    an earlier value date), lines with running balance, closing balance."""
    posted = Transfer.objects.filter(kind__in=POSTED_KINDS)
    before = posted.filter(value_date__lt=start)
    debits = before.filter(debit_account=account).aggregate(total=Coalesce(Sum("amount"), 0))
    credits = before.filter(credit_account=account).aggregate(total=Coalesce(Sum("amount"), 0))
    opening = _signed(account, debits["total"], credits["total"])
    statement = Statement(account=account, start=start, end=end, opening=opening, closing=opening)
    rows = list(
        posted.filter(Q(debit_account=account) | Q(credit_account=account))
        .filter(value_date__gte=start, value_date__lte=end)
        .only(
            "id",
            "kind",
            "value_date",
            "reference",
            "metadata",
            "reverses_id",
            "amount",
            "debit_account_id",
            "credit_account_id",
            "asset_id",
        )
        .order_by("value_date", "pk")
    )
    # counterparty names in one query (a statement has few distinct counterparties)
    others = {
        transfer.credit_account_id
        if transfer.debit_account_id == account.pk
        else transfer.debit_account_id
        for transfer in rows
    }
    codes: dict[int, str] = {}
    names: dict[int, str] = {}
    for other in Account.objects.filter(pk__in=others).select_related(
        "asset", "customer", "holding"
    ):
        codes[other.pk] = other.code
        names[other.pk] = counterparty_label(account, other)
    balance = opening
    for transfer in rows:
        is_debit = transfer.debit_account_id == account.pk
        debit = transfer.amount if is_debit else 0
        credit = 0 if is_debit else transfer.amount
        balance += _signed(account, debit, credit)
        statement.total_debits += debit
        statement.total_credits += credit
        other = transfer.credit_account_id if is_debit else transfer.debit_account_id
        statement.lines.append(
            StatementLine(transfer, debit, credit, balance, codes[other], names[other])
        )
    statement.closing = balance
    return statement


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    asset: str
    exponent: int
    debits: int
    credits: int

    @property
    def net_debit(self) -> int:
        return self.debits - self.credits


def trial_balance(user: Any | None = None) -> list[TrialBalanceRow]:
    """Posted debit and credit totals of every account (from the balance shards: one grouped
    query however many postings). With a user, only the accounts in scope."""
    query = Balance.objects.all()
    if user is not None:
        query = query.filter(account__in=visible_accounts(user).values("pk"))
    totals = query.values("account_id").annotate(d=Sum("debits_posted"), c=Sum("credits_posted"))
    accounts = {
        account.pk: account
        for account in Account.objects.select_related("asset").filter(
            pk__in=[row["account_id"] for row in totals]
        )
    }
    result = [
        TrialBalanceRow(
            row["account_id"],
            accounts[row["account_id"]].code,
            accounts[row["account_id"]].asset.code,
            accounts[row["account_id"]].asset.exponent,
            row["d"],
            row["c"],
        )
        for row in totals
    ]
    return sorted(result, key=lambda row: (row.asset, row.code))


def can_post(user: Any) -> bool:
    return user_has_permission(user, "ledger.post")


# ------------------------------------------------------------------------ console and API reads


def hold_states(transfers: list[Transfer]) -> dict[int, str]:
    """pending / posted / voided of every hold among `transfers`, in one query (list pages)."""
    holds = [transfer.pk for transfer in transfers if transfer.kind == TransferKind.PENDING]
    resolved = dict(Transfer.objects.filter(pending_id__in=holds).values_list("pending_id", "kind"))
    states: dict[int, str] = {}
    for pk in holds:
        kind = resolved.get(pk)
        if kind is None:
            states[pk] = HoldState.PENDING
        else:
            states[pk] = HoldState.POSTED if kind == TransferKind.POST_PENDING else HoldState.VOIDED
    return states


def transfer_links(transfer: Transfer) -> dict[str, int | None]:
    """The rows linked to `transfer`: its resolution (for a hold) and its reversal."""
    resolution = Transfer.objects.filter(pending=transfer).values_list("pk", flat=True).first()
    reversal = Transfer.objects.filter(reverses=transfer).values_list("pk", flat=True).first()
    return {"resolution_id": resolution, "reversed_by_id": reversal}


def period_list(user: Any) -> QuerySet[Any]:
    """Period closes, latest first (`ledger.view`)."""
    require_permission(user, VIEW_PERMISSION)
    return PeriodClose.objects.select_related("closed_by").order_by("-through")


@dataclass(frozen=True)
class TrialBalanceAsset:
    asset: str
    exponent: int
    debits: int
    credits: int
    accounts: int

    @property
    def difference(self) -> int:
        return self.debits - self.credits

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


def trial_balance_totals(rows: list[TrialBalanceRow]) -> list[TrialBalanceAsset]:
    """Debit and credit totals per asset of trial-balance rows (equal when balanced)."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row.asset, [row.exponent, 0, 0, 0])
        total[1] += row.debits
        total[2] += row.credits
        total[3] += 1
    return [TrialBalanceAsset(asset, *values) for asset, values in sorted(totals.items())]
