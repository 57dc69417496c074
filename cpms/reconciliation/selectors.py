"""Reads of bank reconciliation: the client-money bank accounts, statements with their lines and
match state, the workspace (what is unmatched on both sides), breaks, CSV profiles and the daily
report. Bank accounts are internal ledger accounts: every holder of `ledger.view` sees them."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from cpms.access.checks import require_permission
from cpms.ledger.choices import POSTED_KINDS, AccountPurpose
from cpms.ledger.display import account_label
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


def bank_label(account: Any) -> str:
    """A bank account as people name it: its ledger name ("客户资金银行账户 · CNY", or the name
    it was given) and the bank's account identifier, never the ledger code."""
    label = account_label(account)
    identifier = (getattr(account, "bank_account_identifier", "") or "").strip()
    return f"{label} · {identifier}" if identifier else label


def bank_account_rows(user: Any) -> list[dict[str, Any]]:
    accounts = list(bank_account_list(user))
    balances = balances_for(accounts)
    return [
        {
            "id": account.pk,
            "code": account.code,
            "label": bank_label(account),
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


# ------------------------------------------------------------------------------- matching rules

DEFAULT_WINDOW_DAYS = 3


def date_window_days() -> int:
    """How far (days) a transfer's value date may be from the line's date for an auto-match
    (setting CPMS_RECONCILIATION_WINDOW_DAYS, default 3)."""
    return int(getattr(settings, "CPMS_RECONCILIATION_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))


def reference_rank(line: BankStatementLine, transfer: Transfer) -> int:
    """0: same reference; 1: one contains the other (or the narrative names it); 2: none."""
    theirs = line.reference.strip().upper()
    ours = transfer.reference.strip().upper()
    if not ours:
        return 2
    if theirs and theirs == ours:
        return 0
    if (theirs and (ours in theirs or (len(theirs) >= 4 and theirs in ours))) or (
        ours in (line.description or "").upper()
    ):
        return 1
    return 2


def _candidate_transfers(account: Account, lines: Sequence[BankStatementLine]) -> list[Transfer]:
    """Unmatched posted transfers that could match one of `lines` (same absolute amount, value
    date within the window of the earliest and latest line): one query."""
    if not lines:
        return []
    window = datetime.timedelta(days=date_window_days())
    dates = [line.match_date for line in lines]
    amounts = {abs(line.amount_minor) for line in lines}
    return list(
        unmatched_transfers(account).filter(
            value_date__gte=min(dates) - window,
            value_date__lte=max(dates) + window,
            amount__in=amounts,
        )
    )


def ranked_pairs(
    account: Account, lines: Sequence[BankStatementLine]
) -> list[tuple[BankStatementLine, Transfer]]:
    """The auto-match rules applied to `lines` (which must be unmatched): every (line,
    transfer) candidate pair — same direction and amount, value date within the window — ranked
    by (date distance, reference rank, transfer id, line id) and taken greedily, so the result
    is one-to-one and deterministic. One query."""
    window = date_window_days()
    by_amount: dict[int, list[Transfer]] = {}
    for transfer in _candidate_transfers(account, lines):
        by_amount.setdefault(signed_amount(account, transfer), []).append(transfer)
    candidates = []
    for line in lines:
        for transfer in by_amount.get(line.amount_minor, ()):
            distance = abs((transfer.value_date - line.match_date).days)
            if distance <= window:
                rank = reference_rank(line, transfer)
                candidates.append((distance, rank, transfer.pk, line.pk, line, transfer))
    candidates.sort(key=lambda item: item[:4])
    used_lines: set[int] = set()
    used_transfers: set[int] = set()
    pairs: list[tuple[BankStatementLine, Transfer]] = []
    for _distance, _rank, transfer_id, line_id, line, transfer in candidates:
        if line_id in used_lines or transfer_id in used_transfers:
            continue
        used_lines.add(line_id)
        used_transfers.add(transfer_id)
        pairs.append((line, transfer))
    return pairs


# ------------------------------------------------------------------------------- the workspace

WORKSPACE_PAGE_SIZE = 50
SUGGESTION_LIMIT = 10


@dataclass(frozen=True)
class SideFilter:
    """What one side of the workspace is narrowed to. `amount_minor` is compared without sign
    unless `signed` (a typed "-" or "+"): then only that direction matches."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    amount_minor: int | None = None
    signed: bool = False
    text: str = ""

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.amount_minor is not None or self.text)


@dataclass(frozen=True)
class Page:
    """One page of a workspace side, with the totals a person reads ("1–50 of 1,234")."""

    rows: list[Any]
    number: int
    size: int
    total: int
    amount_minor: int  # the net amount of the whole filtered set (+ money in)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.number * self.size)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous(self) -> int:
        return self.number - 1

    @property
    def next(self) -> int:
        return self.number + 1


def _page(query: QuerySet, totals: dict[str, Any], number: int, size: int) -> Page:
    total = int(totals["n"] or 0)
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    offset = (number - 1) * size
    rows = list(query[offset : offset + size]) if total else []
    return Page(
        rows=rows, number=number, size=size, total=total, amount_minor=int(totals["net"] or 0)
    )


def open_lines(account: Account, *, statement_id: int | None = None) -> QuerySet:
    """The account's statement lines without an active match (of one statement if given)."""
    matched = _active_matches().filter(line=OuterRef("pk"))
    query = BankStatementLine.objects.filter(statement__account=account).filter(~Exists(matched))
    if statement_id is not None:
        query = query.filter(statement_id=statement_id)
    return query


def filter_lines(query: QuerySet, side: SideFilter) -> QuerySet:
    if side.date_from:
        query = query.filter(booking_date__gte=side.date_from)
    if side.date_to:
        query = query.filter(booking_date__lte=side.date_to)
    if side.amount_minor is not None:
        if side.signed:
            query = query.filter(amount_minor=side.amount_minor)
        else:
            query = query.filter(amount_minor__in=[side.amount_minor, -side.amount_minor])
    if side.text:
        query = query.filter(
            Q(reference__icontains=side.text)
            | Q(description__icontains=side.text)
            | Q(counterparty__icontains=side.text)
        )
    return query


def line_totals(query: QuerySet) -> dict[str, Any]:
    """Count and net amount of the lines in one query."""
    return query.order_by().aggregate(n=Count("pk"), net=Coalesce(Sum("amount_minor"), 0))


def lines_page(
    account: Account,
    side: SideFilter,
    *,
    statement_id: int | None = None,
    page: int = 1,
    size: int = WORKSPACE_PAGE_SIZE,
) -> Page:
    """A page of open statement lines, oldest booking first; counted and sliced in the database
    (two queries whatever the number of open lines)."""
    query = filter_lines(open_lines(account, statement_id=statement_id), side)
    ordered = query.order_by("booking_date", "statement_id", "index", "pk")
    return _page(ordered, line_totals(query), page, size)


def open_transfers(account: Account) -> QuerySet:
    """Posted transfers on the account without an active match."""
    matched = _active_matches().filter(transfer=OuterRef("pk"))
    return bank_transfers(account).filter(~Exists(matched))


def filter_transfers(account: Account, query: QuerySet, side: SideFilter) -> QuerySet:
    if side.date_from:
        query = query.filter(value_date__gte=side.date_from)
    if side.date_to:
        query = query.filter(value_date__lte=side.date_to)
    if side.amount_minor is not None:
        query = query.filter(amount=abs(side.amount_minor))
        if side.signed:
            # money in (+) debits the bank account, money out (-) credits it
            if side.amount_minor > 0:
                query = query.filter(debit_account=account)
            else:
                query = query.filter(credit_account=account)
    if side.text:
        text = side.text.strip().lstrip("#")
        condition = Q(reference__icontains=side.text)
        if text.isdigit():
            condition |= Q(pk=int(text))
        query = query.filter(condition)
    return query


def transfer_totals(account: Account, query: QuerySet) -> dict[str, Any]:
    """Count and net signed amount (+ money in) of the transfers in one query."""
    signed = Case(When(debit_account=account, then=F("amount")), default=-F("amount"))
    return query.order_by().aggregate(n=Count("pk"), net=Coalesce(Sum(signed), 0))


def transfers_page(
    account: Account, side: SideFilter, *, page: int = 1, size: int = WORKSPACE_PAGE_SIZE
) -> Page:
    """A page of open transfers, oldest value date first (two queries)."""
    query = filter_transfers(account, open_transfers(account), side)
    ordered = query.only(
        "pk", "value_date", "amount", "reference", "debit_account_id", "credit_account_id"
    ).order_by("value_date", "pk")
    result = _page(ordered, transfer_totals(account, query), page, size)
    for transfer in result.rows:
        transfer.signed = signed_amount(account, transfer)
    return result


def open_line_get(account: Account, pk: Any) -> BankStatementLine | None:
    """A line of this account by id: None when it is matched; `LineNotFound` when the account
    has no such line (another account's line is not found either)."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise LineNotFound() from None
    line = (
        BankStatementLine.objects.filter(pk=number, statement__account=account)
        .annotate(is_matched=Exists(_active_matches().filter(line=OuterRef("pk"))))
        .first()
    )
    if line is None:
        raise LineNotFound()
    return None if line.is_matched else line


@dataclass(frozen=True)
class Suggestion:
    transfer: Transfer
    signed: int
    distance: int  # days between the transfer's value date and the line's date
    reference_rank: int  # 0 same reference, 1 contained, 2 none

    @property
    def exact_reference(self) -> bool:
        return self.reference_rank == 0


def suggestions_for(
    account: Account, line: BankStatementLine, *, limit: int = SUGGESTION_LIMIT
) -> list[Suggestion]:
    """Open transfers that may match `line` by the auto-match rules (same direction and amount,
    value date within the window), best first: closest date, then better reference, then
    lower transfer id. One indexed query (account, value date) whatever the open volume."""
    window = datetime.timedelta(days=date_window_days())
    day = line.match_date
    amount = abs(line.amount_minor)
    side = {"debit_account": account} if line.amount_minor > 0 else {"credit_account": account}
    transfers = (
        open_transfers(account)
        .filter(**side, amount=amount, value_date__gte=day - window, value_date__lte=day + window)
        .only("pk", "value_date", "amount", "reference", "debit_account_id", "credit_account_id")
        .order_by("value_date", "pk")[:200]
    )
    ranked = sorted(
        (
            Suggestion(
                transfer=transfer,
                signed=signed_amount(account, transfer),
                distance=abs((transfer.value_date - day).days),
                reference_rank=reference_rank(line, transfer),
            )
            for transfer in transfers
        ),
        key=lambda item: (item.distance, item.reference_rank, item.transfer.pk),
    )
    return ranked[:limit]


def page_suggestions(account: Account, lines: Sequence[BankStatementLine]) -> dict[int, Transfer]:
    """For a page of open lines, the transfer the auto-match rules pair with each (one-to-one
    within the page): the suggestions a person may accept together. One query."""
    return {line.pk: transfer for line, transfer in ranked_pairs(account, lines)}


def break_list(
    user: Any, *, status: str | None = None, account_id: Any = None, owner_id: Any = None
) -> QuerySet[Break]:
    query = Break.objects.select_related("account__asset", "owner", "line", "transfer").filter(
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
                "label": bank_label(account),
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
