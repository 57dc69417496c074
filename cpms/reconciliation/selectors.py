"""Reads of bank reconciliation: the client-money bank accounts, statements with their lines and
match state, the workspace (what is unmatched on both sides), breaks, CSV profiles and the daily
report. Bank accounts are internal ledger accounts: every holder of `ledger.view` sees them."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cpms.access.checks import require_permission
from cpms.ledger.choices import POSTED_KINDS, AccountPurpose
from cpms.ledger.models import Account, Transfer
from cpms.ledger.selectors import balances_for, visible_accounts
from cpms.reconciliation.choices import AGE_BUCKETS, BalanceCheck, BreakStatus
from cpms.reconciliation.errors import (
    BreakNotFound,
    LineNotFound,
    ProfileNotFound,
    StatementNotFound,
)
from cpms.reconciliation.formats import BUILTIN_PROFILES, CsvProfile
from cpms.reconciliation.models import (
    VIEW_PERMISSION,
    BankStatement,
    BankStatementLine,
    Break,
    CsvProfileRecord,
    Match,
)


def normalise_identifier(text: str) -> str:
    """Bank account identifiers compare without spaces, upper-case."""
    return "".join((text or "").split()).upper()


def _bank_accounts() -> QuerySet[Account]:
    return Account.objects.select_related("asset").filter(purpose=AccountPurpose.CLIENT_BANK)


def bank_account_list(user: Any) -> QuerySet[Account]:
    """The client-money bank accounts statements reconcile against."""
    if user is not None:
        return visible_accounts(user).filter(purpose=AccountPurpose.CLIENT_BANK).order_by("code")
    return _bank_accounts().order_by("code")


def bank_account_rows(user: Any) -> list[dict[str, Any]]:
    accounts = list(bank_account_list(user))
    balances = balances_for(accounts)
    return [
        {
            "id": account.pk,
            "code": account.code,
            "name": account.name,
            "asset": account.asset.code,
            "exponent": account.asset.exponent,
            "bank_account_identifier": account.bank_account_identifier,
            "balance_minor": balances[account.pk].posted,
        }
        for account in accounts
    ]


def bank_account_get(user: Any, ref: Any) -> Account | None:
    """A client-money bank account by ledger code or id (None when there is none)."""
    query = bank_account_list(user)
    text = str(ref).strip()
    if text.isdigit():
        found = query.filter(pk=int(text)).first()
        if found is not None:
            return found
    return query.filter(code=text.upper()).first() or query.filter(code=text).first()


def bank_account_by_identifier(identifier: str, currency: str = "") -> Account | None:
    """The bank account with this identifier; of several (one IBAN, a ledger account per
    currency) the one in `currency`, else the first."""
    wanted = normalise_identifier(identifier)
    if not wanted:
        return None
    found = [
        account
        for account in _bank_accounts().exclude(bank_account_identifier="").order_by("pk")
        if normalise_identifier(account.bank_account_identifier) == wanted
    ]
    in_currency = [account for account in found if account.asset.code == currency]
    return (in_currency or found or [None])[0]


def _active_matches() -> QuerySet[Match]:
    return Match.objects.filter(undone_at__isnull=True)


def statement_list(user: Any, *, account_id: Any = None) -> QuerySet[BankStatement]:
    query = BankStatement.objects.select_related("account", "imported_by").filter(
        account__in=bank_account_list(user).values("pk")
    )
    if account_id:
        query = query.filter(account_id=account_id)
    return query.order_by("-imported_at", "-pk")


def statement_get(user: Any, pk: Any) -> BankStatement:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise StatementNotFound() from None
    statement = statement_list(user).filter(pk=number).first()
    if statement is None:
        raise StatementNotFound()
    return statement


def statement_lines(statement: BankStatement) -> list[BankStatementLine]:
    """The lines in order, each with `active_match` (a Match or None)."""
    lines = list(
        statement.lines.prefetch_related(
            Prefetch(
                "matches",
                queryset=_active_matches().select_related("transfer", "matched_by"),
                to_attr="active",
            )
        ).order_by("index")
    )
    for line in lines:
        line.active_match = line.active[0] if line.active else None  # type: ignore[attr-defined]
    return lines


def line_get(user: Any, pk: Any) -> BankStatementLine:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise LineNotFound() from None
    line = (
        BankStatementLine.objects.select_related("statement__account__asset")
        .filter(pk=number, statement__account__in=bank_account_list(user).values("pk"))
        .first()
    )
    if line is None:
        raise LineNotFound()
    return line


def unmatched_lines(account: Account) -> QuerySet[BankStatementLine]:
    matched = _active_matches().filter(line=OuterRef("pk"))
    return (
        BankStatementLine.objects.select_related("statement")
        .filter(statement__account=account)
        .filter(~Exists(matched))
        .order_by("booking_date", "statement_id", "index")
    )


def bank_transfers(account: Account) -> QuerySet[Transfer]:
    return Transfer.objects.filter(kind__in=POSTED_KINDS).filter(
        Q(debit_account=account) | Q(credit_account=account)
    )


def unmatched_transfers(account: Account) -> QuerySet[Transfer]:
    matched = _active_matches().filter(transfer=OuterRef("pk"))
    return (
        bank_transfers(account)
        .select_related("debit_account", "credit_account")
        .filter(~Exists(matched))
        .order_by("value_date", "pk")
    )


def signed_amount(account: Account, transfer: Transfer) -> int:
    """Money in (the bank account debited) is positive, as on a statement."""
    return transfer.amount if transfer.debit_account_id == account.pk else -transfer.amount


def break_list(
    user: Any, *, status: str | None = None, account_id: Any = None, owner_id: Any = None
) -> QuerySet[Break]:
    query = Break.objects.select_related("account", "owner", "line", "transfer").filter(
        account__in=bank_account_list(user).values("pk")
    )
    if status:
        query = query.filter(status=status)
    if account_id:
        query = query.filter(account_id=account_id)
    if owner_id:
        query = query.filter(owner_id=owner_id)
    return query.order_by("opened_at", "pk")


def break_get(user: Any, pk: Any) -> Break:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise BreakNotFound() from None
    found = break_list(user).filter(pk=number).first()
    if found is None:
        raise BreakNotFound()
    return found


def age_days(opened_at: datetime.datetime, on: datetime.date) -> int:
    return max(0, (on - timezone.localdate(opened_at)).days)


def age_bucket(days: int) -> str:
    for label, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BUCKETS[-1][0]


def profile_list(user: Any) -> list[dict[str, Any]]:
    """Built-in profiles first, then the stored ones by name."""
    if user is not None:
        require_permission(user, VIEW_PERMISSION)
    rows = [
        {"name": name, "label": profile.label, "builtin": True, "definition": profile.to_dict()}
        for name, profile in sorted(BUILTIN_PROFILES.items())
    ]
    for record in CsvProfileRecord.objects.select_related("created_by").order_by("name"):
        rows.append(
            {
                "name": record.name,
                "label": record.label,
                "builtin": False,
                "definition": record.definition,
                "created_by": record.created_by.get_username() if record.created_by else "",
                "created_at": record.created_at,
            }
        )
    return rows


def stored_profiles() -> list[CsvProfile]:
    return [
        CsvProfile.from_dict(record.definition)
        for record in CsvProfileRecord.objects.order_by("name")
    ]


def profile_get(name: str) -> CsvProfile | str:
    """A stored profile by name, or the name of a built-in one."""
    record = CsvProfileRecord.objects.filter(name=name).first()
    if record is not None:
        return CsvProfile.from_dict(record.definition)
    if name in BUILTIN_PROFILES:
        return name
    raise ProfileNotFound(fields={"profile": f"{name}"})


def ledger_balance_at(account: Account, on: datetime.date) -> int:
    """The bank account's posted balance (debit-normal) through value date `on`."""
    posted = Transfer.objects.filter(kind__in=POSTED_KINDS, value_date__lte=on)
    debits = posted.filter(debit_account=account).aggregate(t=Coalesce(Sum("amount"), 0))["t"]
    credits = posted.filter(credit_account=account).aggregate(t=Coalesce(Sum("amount"), 0))["t"]
    return debits - credits


def report_build(user: Any, on: datetime.date) -> dict[str, Any]:
    """Per bank account on date `on`: the latest statement closing on or before that date, the
    ledger balance at `on` and at the statement's closing date (the difference is closing minus
    the latter), matched/unmatched counts, open breaks by age bucket."""
    accounts = []
    for account in bank_account_list(user):
        statement = (
            BankStatement.objects.filter(account=account, closing_date__lte=on)
            .exclude(closing_minor=None)
            .order_by("-closing_date", "-pk")
            .first()
        )
        lines = BankStatementLine.objects.filter(statement__account=account, booking_date__lte=on)
        matched_lines = lines.filter(Exists(_active_matches().filter(line=OuterRef("pk")))).count()
        transfers = bank_transfers(account).filter(value_date__lte=on)
        unmatched = transfers.filter(
            ~Exists(_active_matches().filter(transfer=OuterRef("pk")))
        ).count()
        buckets = {label: 0 for label, _low, _high in AGE_BUCKETS}
        open_breaks = Break.objects.filter(
            account=account, status=BreakStatus.OPEN, opened_at__date__lte=on
        )
        for opened_at in open_breaks.values_list("opened_at", flat=True):
            buckets[age_bucket(age_days(opened_at, on))] += 1
        checks = dict(
            BankStatement.objects.filter(account=account, imported_at__date__lte=on)
            .order_by()
            .values("balance_check")
            .annotate(n=Count("pk"))
            .values_list("balance_check", "n")
        )
        ledger_minor = ledger_balance_at(account, on)
        closing = statement.closing_minor if statement is not None else None
        # the difference compares like with like: the ledger through the statement's closing date
        at_closing = (
            ledger_balance_at(account, statement.closing_date) if statement is not None else None
        )
        accounts.append(
            {
                "account_id": account.pk,
                "code": account.code,
                "asset": account.asset.code,
                "exponent": account.asset.exponent,
                "statement_id": statement.pk if statement is not None else None,
                "statement_closing_date": (
                    statement.closing_date.isoformat() if statement is not None else None
                ),
                "statement_closing_minor": closing,
                "ledger_balance_minor": ledger_minor,
                "ledger_at_closing_minor": at_closing,
                "difference_minor": None if closing is None else closing - at_closing,
                "lines_total": lines.count(),
                "lines_matched": matched_lines,
                "lines_unmatched": lines.count() - matched_lines,
                "transfers_unmatched": unmatched,
                "statements_not_adding_up": checks.get(BalanceCheck.DOES_NOT_ADD_UP, 0),
                "statements_not_checkable": checks.get(BalanceCheck.NOT_CHECKABLE, 0),
                "open_breaks": sum(buckets.values()),
                "breaks_by_age": buckets,
            }
        )
    return {"date": on.isoformat(), "accounts": accounts}
