"""Journal export for the independent cross-check (`cpms ledger export`).

Writes every POSTED effect of the ledger (transfers of kind `posted` and `post_pending`; a
`pending` hold or a `void_pending` row moves no posted balance and is not a posting) as a plain
text journal that `ledger`, `hledger` (format "ledger") or beancount (format "beancount") read
with exactly the balances CPMS reports: the tool's balance of an account is its posted debits
minus its posted credits (`selectors.trial_balance` `net_debit`), to the last minor unit.

Account names (one per CPMS account, valid in all three tools):

    purpose           top-level    name
    client_bank       Assets       Assets:ClientBank:<ASSET>
    settlement        Assets       Assets:Settlement:<ASSET>
    units_custody     Assets       Assets:Custody:<ASSET>
    suspense          Assets       Assets:Suspense:<ASSET>
    loan_principal    Assets       Assets:Loans:C<customer>:Principal:<ASSET>[:H<item>]
    loan_interest     Assets       Assets:Loans:C<customer>:Interest:<ASSET>[:H<item>]
    customer_cash     Liabilities  Liabilities:Customers:C<customer>:Cash:<ASSET>[:H<item>]
    customer_points   Liabilities  Liabilities:Customers:C<customer>:Points:<ASSET>[:H<item>]
    customer_units    Liabilities  Liabilities:Customers:C<customer>:Units:<ASSET>[:H<item>]
    fees              Income       Income:Fees:<ASSET>
    interest          Income       Income:Interest:<ASSET>
    points_breakage   Income       Income:PointsBreakage:<ASSET>
    loan_funding      Equity       Equity:LoanFunding:<ASSET>
    points_issuance   Expenses     Expenses:PointsIssuance:<ASSET>

An internal account opened with its own code (e.g. "BANK:CMB:CNY") is named after that code
under its purpose ("Assets:ClientBank:BANK-CMB-CNY"). Commodities: a currency is its ISO code,
points are "PTS", units of an instrument "U:600519.SH" become "U600519.SH" (beancount's
commodity syntax; quoted in the ledger format because of the digits). Should two accounts map to
one name, the later one gets ":A<id>" appended, so names stay unique.

The export is streamed: transfers are read with `iterator(chunk_size=...)` and written line by
line, so a ledger of millions of transfers never sits in memory."""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db import transaction
from django.db.models import Min
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.ledger.assets import POINTS_CODE, UNITS_PREFIX, format_minor
from cpms.ledger.choices import POSTED_KINDS, AccountPurpose
from cpms.ledger.models import VIEW_PERMISSION, Account, Asset, Transfer

FORMATS = ("ledger", "beancount")
# beancount `open` date of an account first seen after the header was written
LATE_OPEN = "1970-01-01"
CHUNK = 5000

_TOP = {
    AccountPurpose.CLIENT_BANK: ("Assets", "ClientBank"),
    AccountPurpose.SETTLEMENT: ("Assets", "Settlement"),
    AccountPurpose.UNITS_CUSTODY: ("Assets", "Custody"),
    AccountPurpose.SUSPENSE: ("Assets", "Suspense"),
    AccountPurpose.LOAN_PRINCIPAL: ("Assets", "Loans"),
    AccountPurpose.LOAN_INTEREST: ("Assets", "Loans"),
    AccountPurpose.CUSTOMER_CASH: ("Liabilities", "Customers"),
    AccountPurpose.CUSTOMER_POINTS: ("Liabilities", "Customers"),
    AccountPurpose.CUSTOMER_UNITS: ("Liabilities", "Customers"),
    AccountPurpose.FEES: ("Income", "Fees"),
    AccountPurpose.INTEREST: ("Income", "Interest"),
    AccountPurpose.POINTS_BREAKAGE: ("Income", "PointsBreakage"),
    AccountPurpose.LOAN_FUNDING: ("Equity", "LoanFunding"),
    AccountPurpose.POINTS_ISSUANCE: ("Expenses", "PointsIssuance"),
}
_CUSTOMER_LEAF = {
    AccountPurpose.CUSTOMER_CASH: "Cash",
    AccountPurpose.CUSTOMER_POINTS: "Points",
    AccountPurpose.CUSTOMER_UNITS: "Units",
    AccountPurpose.LOAN_PRINCIPAL: "Principal",
    AccountPurpose.LOAN_INTEREST: "Interest",
}
_NOT_COMPONENT = re.compile(r"[^A-Za-z0-9-]+")
_COMMODITY = re.compile(r"^[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]$")
_PLAIN_COMMODITY = re.compile(r"^[A-Za-z]+$")


def commodity(asset_code: str) -> str:
    """The commodity name of an asset, valid in beancount ([A-Z][A-Z0-9'._-]*[A-Z0-9])."""
    code = asset_code.upper()
    if code.startswith(UNITS_PREFIX):
        code = "U" + code[len(UNITS_PREFIX) :]
    if code == POINTS_CODE or _COMMODITY.match(code):
        return code
    cleaned = re.sub(r"[^A-Z0-9'._-]", "-", code)
    cleaned = ("X" + cleaned) if not cleaned[:1].isalpha() else cleaned
    cleaned = cleaned.rstrip("'._-") or "X"
    return (cleaned + "X")[:24] if len(cleaned) < 2 else cleaned[:24]


def _component(text: str) -> str:
    """One account-name component: starts with a capital or digit, then letters, digits, '-'."""
    cleaned = _NOT_COMPONENT.sub("-", text).strip("-") or "X"
    if not (cleaned[0].isdigit() or cleaned[0].isupper()):
        cleaned = "X" + cleaned
    return cleaned


def account_name(account: Account, asset_code: str) -> str:
    top, group = _TOP[AccountPurpose(account.purpose)]
    asset_part = _component(commodity(asset_code))
    if account.customer_id is not None:
        parts = [top, group, f"C{account.customer_id}", _CUSTOMER_LEAF[account.purpose], asset_part]
        if account.holding_id is not None:
            parts.append(f"H{account.holding_id}")
        return ":".join(parts)
    default_code = f"INT:{account.purpose.upper()}:{asset_code}"
    if account.code == default_code:
        return f"{top}:{group}:{asset_part}"
    return f"{top}:{group}:{_component(account.code)}"


@dataclass
class AccountInfo:
    name: str
    commodity: str
    exponent: int


def account_names(
    pks: Iterator[int] | None = None, used: set[str] | None = None
) -> dict[int, AccountInfo]:
    """Every account's (or those of `pks`) journal name, commodity and exponent; names stay
    unique (stable by id; `used` holds names given out already)."""
    assets = {row.pk: row for row in Asset.objects.all()}
    used = set() if used is None else used
    result: dict[int, AccountInfo] = {}
    query = Account.objects.order_by("pk").only(
        "pk", "code", "purpose", "customer_id", "holding_id", "asset_id"
    )
    if pks is not None:
        query = query.filter(pk__in=list(pks))
    for account in query:
        asset = assets[account.asset_id]
        name = account_name(account, asset.code)
        if name in used:
            name = f"{name}:A{account.pk}"
        used.add(name)
        result[account.pk] = AccountInfo(name, commodity(asset.code), asset.exponent)
    return result


def _text(value: str) -> str:
    return " ".join((value or "").split())


def _ledger_commodity(name: str) -> str:
    return name if _PLAIN_COMMODITY.match(name) else f'"{name}"'


def _beancount_string(value: str) -> str:
    return '"' + _text(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _posted_rows(through: datetime.date | None) -> Iterator[tuple]:
    query = Transfer.objects.filter(kind__in=POSTED_KINDS)
    if through is not None:
        query = query.filter(value_date__lte=through)
    return (
        query.order_by("pk")
        .values_list(
            "pk",
            "value_date",
            "debit_account_id",
            "credit_account_id",
            "amount",
            "reference",
            "kind",
            "pending_id",
            "reverses_id",
        )
        .iterator(chunk_size=CHUNK)
    )


def _header_ledger(infos: dict[int, AccountInfo], generated: str) -> Iterator[str]:
    yield f"; CPMS ledger journal, generated {generated}\n"
    yield "; posted transfers only; debit = positive amount, credit = negative amount\n\n"
    commodities = sorted({(info.commodity, info.exponent) for info in infos.values()})
    for name, exponent in commodities:
        if not exponent:
            # hledger wants a decimal mark in the format ("1000."), ledger refuses one; whole
            # amounts need no directive in either tool
            continue
        sample = format_minor(1000 * 10**exponent, exponent)
        symbol = _ledger_commodity(name)
        yield f"commodity {symbol}\n    format {sample} {symbol}\n"
    yield "\n"
    for info in sorted(infos.values(), key=lambda item: item.name):
        yield f"account {info.name}\n"
    yield "\n"


def _header_beancount(
    infos: dict[int, AccountInfo], generated: str, opened: datetime.date
) -> Iterator[str]:
    yield f"; CPMS ledger journal, generated {generated}\n"
    yield "; posted transfers only; debit = positive amount, credit = negative amount\n\n"
    yield 'option "title" "CPMS ledger"\n\n'
    for name in sorted({info.commodity for info in infos.values()}):
        yield f"{opened.isoformat()} commodity {name}\n"
    yield "\n"
    for info in sorted(infos.values(), key=lambda item: item.name):
        yield f"{opened.isoformat()} open {info.name} {info.commodity}\n"
    yield "\n"


def _transaction_text(fmt: str, row: tuple, infos: dict[int, AccountInfo]) -> str:
    pk, value_date, debit_id, credit_id, amount, reference, _kind, pending_id, reverses_id = row
    debit, credit = infos[debit_id], infos[credit_id]
    text = format_minor(amount, debit.exponent)
    negative = format_minor(-amount, debit.exponent)
    description = _text(reference) or f"Transfer #{pk}"
    links = f"cpms-id: {pk}"
    if pending_id:
        links += f", hold: {pending_id}"
    if reverses_id:
        links += f", reverses: {reverses_id}"
    if fmt == "ledger":
        symbol = _ledger_commodity(debit.commodity)
        return (
            f"{value_date.isoformat()} * {description}\n"
            f"    ; {links}\n"
            f"    {debit.name}  {text} {symbol}\n"
            f"    {credit.name}  {negative} {symbol}\n\n"
        )
    meta = f"  cpms_id: {pk}\n"
    if pending_id:
        meta += f"  hold: {pending_id}\n"
    if reverses_id:
        meta += f"  reverses: {reverses_id}\n"
    return (
        f"{value_date.isoformat()} * {_beancount_string(description)}\n"
        f"{meta}"
        f"  {debit.name}  {text} {debit.commodity}\n"
        f"  {credit.name}  {negative} {credit.commodity}\n\n"
    )


@dataclass(frozen=True)
class ExportResult:
    format: str
    transfers: int
    accounts: int
    sha256: str
    through: datetime.date | None


def write_journal(
    stream: IO[str], *, fmt: str, through: datetime.date | None = None
) -> ExportResult:
    """Write the journal to `stream` (no permission check and no audit: `journal_export`)."""
    if fmt not in FORMATS:
        raise ValidationFailed(
            fields={"format": _("Use one of: %(formats)s.") % {"formats": ", ".join(FORMATS)}}
        )
    digest = hashlib.sha256()

    def emit(text: str) -> None:
        digest.update(text.encode())
        stream.write(text)

    infos = account_names()
    used = {info.name for info in infos.values()}
    declared = {info.commodity for info in infos.values()}
    generated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    if fmt == "ledger":
        header = _header_ledger(infos, generated)
    else:
        first = Transfer.objects.filter(kind__in=POSTED_KINDS).aggregate(day=Min("value_date"))
        opened = first["day"] or datetime.date.today()
        header = _header_beancount(infos, generated, opened)
    for text in header:
        emit(text)
    count = 0
    for row in _posted_rows(through):
        missing = {row[2], row[3]} - infos.keys()
        if missing:
            # opened (and used) while the export ran: declare it where it first appears
            late = account_names(iter(missing), used)
            infos.update(late)
            for info in late.values():
                if fmt == "ledger":
                    emit(f"account {info.name}\n\n")
                else:
                    if info.commodity not in declared:
                        declared.add(info.commodity)
                        emit(f"{LATE_OPEN} commodity {info.commodity}\n")
                    emit(f"{LATE_OPEN} open {info.name} {info.commodity}\n\n")
        emit(_transaction_text(fmt, row, infos))
        count += 1
    return ExportResult(fmt, count, len(infos), digest.hexdigest(), through)


def _require_whole_ledger(actor: Any) -> None:
    require_permission(actor, VIEW_PERMISSION)
    condition = scope_filter(actor, VIEW_PERMISSION, Account)
    if condition is None or condition.children:
        raise ValidationFailed(
            fields={
                "actor": _(
                    "Exporting the journal needs ledger.view over every customer (scope: all)."
                )
            }
        )


def journal_export(
    *, actor: Any, stream: IO[str], fmt: str, through: datetime.date | None = None
) -> ExportResult:
    """Export the whole journal (`ledger.view` with scope over all customers) and record
    LEDGER_EXPORTED with the count and the SHA-256 of the text written."""
    _require_whole_ledger(actor)
    # streamed outside a transaction: on SQLite a transaction would hold the write lock for
    # the whole export; each query reads one consistent snapshot, and an account opened while
    # the export runs is declared where it first appears
    result = write_journal(stream, fmt=fmt, through=through)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.LEDGER_EXPORTED,
            object_type="ledger.journal",
            object_id=fmt,
            after={
                "format": result.format,
                "transfers": result.transfers,
                "accounts": result.accounts,
                "through": through.isoformat() if through else None,
                "sha256": result.sha256,
            },
        )
    return result
