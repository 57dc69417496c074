"""Every write of bank reconciliation: statement import (parse, find the bank account, store,
flag what does not add up, auto-match, open breaks), manual match and unmatch, break owner and
resolution, CSV profiles, the daily report. Each function owns its transaction, checks
`ledger.reconcile` (`actor=None` is the system: the CLI without --actor and the jobs) and
records its audit entry inside the transaction."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import CpmsError, NotFound, ValidationFailed
from cpms.core.money import format_minor
from cpms.ledger.models import Account, Transfer
from cpms.reconciliation import selectors
from cpms.reconciliation.choices import BalanceCheck, BreakKind, BreakStatus, MatchHow
from cpms.reconciliation.errors import (
    AlreadyMatched,
    BreakClosed,
    DuplicateStatement,
    LineNotFound,
    MatchNotFound,
    NotMatchable,
    ProfileNotFound,
    StatementRefused,
)
from cpms.reconciliation.formats import (
    BUILTIN_PROFILES,
    CsvProfile,
    ParsedStatement,
    StatementUnreadable,
    parse_statements,
    profile_matches,
)
from cpms.reconciliation.models import (
    RECONCILE_PERMISSION,
    BankStatement,
    BankStatementLine,
    Break,
    CsvProfileRecord,
    Match,
    ReconciliationReport,
)

STATEMENT_OBJECT = "reconciliation.statement"
MATCH_OBJECT = "reconciliation.match"
BREAK_OBJECT = "reconciliation.break"
PROFILE_OBJECT = "reconciliation.profile"
REPORT_OBJECT = "reconciliation.report"
ACCOUNT_OBJECT = "ledger.account"
DEFAULT_WINDOW_DAYS = selectors.DEFAULT_WINDOW_DAYS
# the matching rules live with the reads (the workspace suggests by them); kept here by name
date_window_days = selectors.date_window_days
_reference_rank = selectors.reference_rank
# at most this many suggested matches are accepted in one go (a workspace page is 50 lines)
MAX_ACCEPT = 200


def _require(actor: Any, permission: str = RECONCILE_PERMISSION) -> None:
    if actor is not None:  # None: the system (CLI without --actor, scheduled jobs)
        require_permission(actor, permission)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


# ------------------------------------------------------------------------------------ import


@dataclass(frozen=True)
class RefusedStatement:
    """A statement of the file that was not imported (the others were), and why."""

    position: int  # 0-based position in the file
    statement_id: str
    account_identifier: str
    currency: str
    reason: str
    fields: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass
class ImportResult:
    statements: list[BankStatement]
    matches: int = 0
    breaks: int = 0
    flagged: list[BankStatement] = field(default_factory=list)
    not_checkable: list[BankStatement] = field(default_factory=list)
    refused: list[RefusedStatement] = field(default_factory=list)
    # statements of the file imported earlier for their account (left as they are)
    already_imported: list[BankStatement] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """No imported statement fails to add up (one without balances is not checkable, not
        inconsistent)."""
        return not self.flagged


def _parse(data: bytes, format: str | None, profile: str | None) -> list[ParsedStatement]:
    chosen: CsvProfile | str | None = None
    if profile:
        try:
            chosen = selectors.profile_get(profile)
        except ProfileNotFound as exc:
            raise StatementRefused(
                fields={
                    "profile": _("No CSV profile is named %(name)s (known: %(known)s).")
                    % {
                        "name": profile,
                        "known": ", ".join(
                            sorted(
                                [*BUILTIN_PROFILES, *(p.name for p in selectors.stored_profiles())]
                            )
                        ),
                    }
                }
            ) from exc
    try:
        statements = parse_statements(data, format=format, profile=chosen)
    except StatementUnreadable:
        if chosen is not None or format not in (None, "csv"):
            raise
        # a user-defined profile whose header is in the file
        for stored in selectors.stored_profiles():
            if profile_matches(data, stored):
                statements = parse_statements(data, format="csv", profile=stored)
                break
        else:
            raise
    if not statements:
        raise StatementUnreadable(fields={"file": _("The file holds no statement.")})
    return statements


def _resolve_account(parsed: ParsedStatement, explicit: Account | None, number: int) -> Account:
    where = _("statement %(n)s (%(id)s)") % {"n": number, "id": parsed.statement_id or "-"}
    account = explicit
    if account is None:
        if not parsed.account:
            raise StatementRefused(
                fields={
                    "account": _(
                        "%(where)s names no bank account: give the ledger account (--account CODE)."
                    )
                    % {"where": where}
                }
            )
        account = selectors.bank_account_by_identifier(parsed.account, parsed.currency)
        if account is None:
            raise StatementRefused(
                fields={
                    "account": _(
                        "%(where)s is for bank account %(identifier)s (%(currency)s): no "
                        "client-money bank account has this identifier. Set it on the ledger "
                        "account or give --account CODE."
                    )
                    % {
                        "where": where,
                        "identifier": parsed.account,
                        "currency": parsed.currency,
                    }
                }
            )
    if parsed.currency and parsed.currency != account.asset.code:
        message = _("%(where)s is in %(currency)s but bank account %(code)s is in %(asset)s.") % {
            "where": where,
            "currency": parsed.currency,
            "code": account.code,
            "asset": account.asset.code,
        }
        if explicit is None:
            message += " " + _(
                "Open a client-money bank account in %(currency)s with this identifier (cpms "
                "ledger open-account) or give --account CODE."
            ) % {"currency": parsed.currency}
        raise StatementRefused(fields={"currency": message})
    return account


def _refusal_text(exc: StatementRefused) -> str:
    texts = [str(value) for value in exc.fields.values() if isinstance(value, str)]
    return " ".join(texts) or exc.message


def _resolve_all(
    parsed_statements: list[ParsedStatement], explicit: Account | None
) -> tuple[list[tuple[int, ParsedStatement, Account]], list[RefusedStatement]]:
    """The bank account of each statement. A statement whose account cannot be found (or is in
    another currency) is refused alone; when every statement is refused, the file is."""
    targets: list[tuple[int, ParsedStatement, Account]] = []
    refused: list[RefusedStatement] = []
    errors: list[StatementRefused] = []
    for position, parsed in enumerate(parsed_statements):
        try:
            targets.append((position, parsed, _resolve_account(parsed, explicit, position + 1)))
        except StatementRefused as exc:
            errors.append(exc)
            refused.append(
                RefusedStatement(
                    position=position,
                    statement_id=parsed.statement_id,
                    account_identifier=parsed.account,
                    currency=parsed.currency,
                    reason=_refusal_text(exc),
                    fields=exc.fields,
                )
            )
    if targets:
        return targets, refused
    if len(errors) == 1:
        raise errors[0]
    fields: dict[str, str] = {}
    for exc in errors:
        for name, value in exc.fields.items():
            fields[name] = f"{fields[name]} {value}" if name in fields else str(value)
    raise StatementRefused(
        _("No statement of the file can be imported: %(reasons)s")
        % {"reasons": " ".join(item.reason for item in refused)},
        fields=fields,
    )


def _explicit_account(actor: Any, ref: Any) -> Account | None:
    if ref in (None, ""):
        return None
    account = selectors.bank_account_get(actor, ref)
    if account is None:
        raise StatementRefused(
            fields={
                "account": _("No client-money bank account has the code or id %(ref)s.")
                % {"ref": ref}
            }
        )
    return account


def _statement_snapshot(statement: BankStatement) -> dict[str, Any]:
    return {
        "account": statement.account.code,
        "format": statement.format,
        "profile": statement.profile,
        "statement_id": statement.statement_id,
        "file_sha256": statement.file_sha256,
        "position": statement.position,
        "filename": statement.filename,
        "currency": statement.currency,
        "opening_minor": statement.opening_minor,
        "closing_minor": statement.closing_minor,
        "opening_date": statement.opening_date.isoformat() if statement.opening_date else None,
        "closing_date": statement.closing_date.isoformat() if statement.closing_date else None,
        "lines": statement.lines.count(),
        "consistent": statement.consistent,
        "balance_check": statement.balance_check,
        "problems": statement.problems,
    }


def _store(
    actor: Any,
    parsed: ParsedStatement,
    account: Account,
    *,
    sha: str,
    position: int,
    filename: str,
) -> BankStatement:
    problems = list(parsed.problems)
    check = BalanceCheck(parsed.balance_check)
    if check == BalanceCheck.DOES_NOT_ADD_UP and not problems:
        # the parsers explain every failure; this covers a statement with only one balance
        problems.append(_("The statement gives no opening or no closing balance."))
    statement = BankStatement.objects.create(
        account=account,
        format=parsed.format,
        profile=parsed.profile,
        statement_id=parsed.statement_id[:140],
        account_identifier=parsed.account[:140],
        currency=parsed.currency or account.asset.code,
        filename=(filename or "")[:255],
        file_sha256=sha,
        position=position,
        opening_minor=parsed.opening_minor,
        opening_date=parsed.opening_date,
        closing_minor=parsed.closing_minor,
        closing_date=parsed.closing_date,
        entries_total_minor=parsed.entries_total_minor,
        consistent=parsed.consistent,
        balance_check=check,
        problems=problems,
        imported_by=_user(actor),
    )
    BankStatementLine.objects.bulk_create(
        BankStatementLine(
            statement=statement,
            index=line.index,
            booking_date=line.booking_date,
            value_date=line.value_date,
            amount_minor=line.amount_minor,
            currency=line.currency,
            reference=line.reference[:255],
            description=line.description,
            counterparty=line.counterparty[:255],
            counterparty_account=line.counterparty_account[:140],
            bank_code=line.bank_code[:64],
            running_balance_minor=line.running_balance_minor,
        )
        for line in parsed.lines
    )
    audit_record(
        actor=actor,
        action=AuditAction.BANK_STATEMENT_IMPORTED,
        object_type=STATEMENT_OBJECT,
        object_id=statement.pk,
        after=_statement_snapshot(statement),
    )
    if check == BalanceCheck.DOES_NOT_ADD_UP:
        Break.objects.create(
            account=account,
            kind=BreakKind.STATEMENT_INCONSISTENT,
            statement=statement,
            amount_minor=(statement.closing_minor or 0)
            - (statement.opening_minor or 0)
            - statement.entries_total_minor,
            description="; ".join(problems)[:500],
        )
        audit_record(
            actor=actor,
            action=AuditAction.BANK_STATEMENT_FLAGGED,
            object_type=STATEMENT_OBJECT,
            object_id=statement.pk,
            after={"problems": problems},
        )
    return statement


def statement_import(
    *,
    actor: Any,
    data: bytes,
    filename: str = "",
    format: str | None = None,
    profile: str | None = None,
    account: Any = None,
) -> ImportResult:
    """Import the statements of a file, auto-match their lines and open breaks.
    A statement whose bank account is unknown or in another currency is refused alone
    (`result.refused`); a statement imported from the same file before is left as it is
    (`result.already_imported`). Refused (nothing written): unreadable file or wrong format
    (`reconciliation.unreadable`), no statement with a bank account (`reconciliation.refused`),
    every statement imported already (`reconciliation.duplicate_statement`)."""
    _require(actor)
    format = format or None
    sha = hashlib.sha256(data).hexdigest()
    parsed_statements = _parse(data, format, profile or None)
    with transaction.atomic():
        explicit = _explicit_account(actor, account)
        targets, refused = _resolve_all(parsed_statements, explicit)
        result = ImportResult(statements=[], refused=refused)
        earlier = {
            (item.account_id, item.position): item
            for item in BankStatement.objects.select_related("account").filter(
                account__in={bank.pk for _position, _parsed, bank in targets}, file_sha256=sha
            )
        }
        new_targets = []
        for position, parsed, bank in targets:
            if (bank.pk, position) in earlier:
                result.already_imported.append(earlier[(bank.pk, position)])
            else:
                new_targets.append((position, parsed, bank))
        if not new_targets:
            _refuse_duplicate(sha, result.already_imported[0])
        for position, parsed, bank in new_targets:
            statement = _store(actor, parsed, bank, sha=sha, position=position, filename=filename)
            result.statements.append(statement)
            if statement.balance_check == BalanceCheck.DOES_NOT_ADD_UP:
                result.flagged.append(statement)
            elif statement.balance_check == BalanceCheck.NOT_CHECKABLE:
                result.not_checkable.append(statement)
        by_account: dict[int, list[BankStatement]] = {}
        for statement in result.statements:
            by_account.setdefault(statement.account_id, []).append(statement)
        for statements in by_account.values():
            bank = statements[0].account
            lines = list(BankStatementLine.objects.filter(statement__in=statements))
            pairs = auto_match(actor=actor, account=bank, lines=lines)
            result.matches += len(pairs)
            result.breaks += _open_breaks(bank, statements)
    return result


def _refuse_duplicate(sha: str, earlier: BankStatement) -> None:
    raise DuplicateStatement(
        _(
            "This file (SHA-256 %(sha)s) was imported already for bank account "
            "%(code)s on %(when)s (statement %(id)s)."
        )
        % {
            "sha": sha[:12],
            "code": earlier.account.code,
            "when": timezone.localtime(earlier.imported_at).strftime("%Y-%m-%d %H:%M"),
            "id": earlier.pk,
        },
        fields={"file": sha},
    )


# ------------------------------------------------------------------------------------ matching


def auto_match(
    *, actor: Any, account: Account, lines: Sequence[BankStatementLine]
) -> list[tuple[int, int]]:
    """Match unmatched `lines` one-to-one to unmatched posted transfers on `account`: same
    direction and absolute amount, value date within the window; among candidates the closest
    date wins, then the better reference, then the lower transfer id (then line id).
    Runs inside the caller's transaction; returns the (line id, transfer id) pairs."""
    matched_lines = set(
        Match.objects.filter(
            undone_at__isnull=True, line__in=[line.pk for line in lines]
        ).values_list("line_id", flat=True)
    )
    open_lines = [line for line in lines if line.pk not in matched_lines]
    if not open_lines:
        return []
    matcher = _user(actor)
    ranked = selectors.ranked_pairs(account, open_lines)
    used_lines = {line.pk for line, _transfer in ranked}
    used_transfers = {transfer.pk for _line, transfer in ranked}
    matches = [
        Match(line=line, transfer=transfer, how=MatchHow.AUTO, matched_by=matcher)
        for line, transfer in ranked
    ]
    pairs = [(line.pk, transfer.pk) for line, transfer in ranked]
    if pairs:
        # one insert and one break update for the whole statement, not a round trip per pair
        Match.objects.bulk_create(matches)
        _close_breaks(line_ids=used_lines, transfer_ids=used_transfers, actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_MATCHED,
            object_type=ACCOUNT_OBJECT,
            object_id=account.pk,
            after={"how": MatchHow.AUTO, "pairs": [list(pair) for pair in sorted(pairs)]},
        )
    return pairs


def _close_breaks(
    *, line_ids: Collection[int], transfer_ids: Collection[int], actor: Any
) -> list[int]:
    """Resolve the open breaks of matched lines and transfers ("Matched.")."""
    condition = Q(line_id__in=list(line_ids), kind=BreakKind.UNMATCHED_LINE) | Q(
        transfer_id__in=list(transfer_ids), kind=BreakKind.UNMATCHED_TRANSFER
    )
    breaks = list(
        Break.objects.filter(condition, status=BreakStatus.OPEN).values_list("pk", flat=True)
    )
    if breaks:
        Break.objects.filter(pk__in=breaks).update(
            status=BreakStatus.RESOLVED,
            resolution=_("Matched."),
            resolved_at=timezone.now(),
            resolved_by=_user(actor),
        )
    return breaks


def _line_break(line: BankStatementLine, account: Account) -> Break:
    return Break(
        account=account,
        kind=BreakKind.UNMATCHED_LINE,
        statement_id=line.statement_id,
        line=line,
        amount_minor=line.amount_minor,
        description=(line.reference or line.description or line.counterparty)[:500],
    )


def _transfer_break(transfer: Transfer, account: Account) -> Break:
    return Break(
        account=account,
        kind=BreakKind.UNMATCHED_TRANSFER,
        transfer=transfer,
        amount_minor=selectors.signed_amount(account, transfer),
        description=transfer.reference[:500],
    )


def _open_breaks(account: Account, statements: Iterable[BankStatement]) -> int:
    """A break for each unmatched line of the statements and each unmatched posted transfer on
    the account dated within their period (unless one is open already)."""
    statements = list(statements)
    lines = selectors.unmatched_lines(account).filter(statement__in=statements)
    new = [_line_break(line, account) for line in lines]
    dates = [
        day
        for statement in statements
        for day in (statement.opening_date, statement.closing_date)
        if day is not None
    ]
    dates += [
        line.booking_date
        for line in BankStatementLine.objects.filter(statement__in=statements).only("booking_date")
    ]
    if dates:
        already = Break.objects.filter(
            status=BreakStatus.OPEN, kind=BreakKind.UNMATCHED_TRANSFER, account=account
        ).values_list("transfer_id", flat=True)
        transfers = (
            selectors.unmatched_transfers(account)
            .filter(value_date__gte=min(dates), value_date__lte=max(dates))
            .exclude(pk__in=already)
        )
        new += [_transfer_break(transfer, account) for transfer in transfers]
    Break.objects.bulk_create(new)
    return len(new)


def _match_snapshot(match: Match) -> dict[str, Any]:
    return {
        "line_id": match.line_id,
        "statement_id": match.line.statement_id,
        "transfer_id": match.transfer_id,
        "how": match.how,
        "amount_minor": match.line.amount_minor,
        "undone_at": match.undone_at.isoformat() if match.undone_at else None,
        "undo_reason": match.undo_reason,
    }


def match_create(*, actor: Any, line_id: Any, transfer_id: Any) -> Match:
    """Match a statement line to a ledger transfer by hand: the transfer must be posted on the
    line's bank account, in the same direction and for the same amount; neither may be matched
    already. Open breaks of the line and the transfer are resolved."""
    _require(actor)
    with transaction.atomic():
        line = selectors.line_get(actor, line_id)
        account = line.statement.account
        transfer = selectors.bank_transfers(account).filter(pk=_int(transfer_id)).first()
        if transfer is None:
            raise NotMatchable(
                fields={
                    "transfer_id": _("No posted transfer %(id)s moves bank account %(code)s.")
                    % {"id": transfer_id, "code": account.code}
                }
            )
        signed = selectors.signed_amount(account, transfer)
        if signed != line.amount_minor:
            currency = account.asset.code
            raise NotMatchable(
                fields={
                    "transfer_id": _(
                        "Transfer %(id)s moves %(signed)s on the bank account; the line says "
                        "%(amount)s (+ money in, - money out)."
                    )
                    % {
                        "id": transfer.pk,
                        "signed": format_minor(signed, currency),
                        "amount": format_minor(line.amount_minor, currency),
                    }
                }
            )
        active = Match.objects.filter(undone_at__isnull=True)
        if active.filter(line=line).exists():
            raise AlreadyMatched(
                _("Statement line %(id)s is matched already: undo that match first.")
                % {"id": line.pk},
                fields={"line_id": str(line.pk)},
            )
        if active.filter(transfer=transfer).exists():
            raise AlreadyMatched(
                _("Transfer %(id)s is matched already: undo that match first.")
                % {"id": transfer.pk},
                fields={"transfer_id": str(transfer.pk)},
            )
        try:
            with transaction.atomic():
                match = Match.objects.create(
                    line=line, transfer=transfer, how=MatchHow.MANUAL, matched_by=_user(actor)
                )
        except IntegrityError as exc:
            raise AlreadyMatched(_("The line or the transfer was matched meanwhile.")) from exc
        closed = _close_breaks(line_ids=[line.pk], transfer_ids=[transfer.pk], actor=actor)
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_MATCHED,
            object_type=MATCH_OBJECT,
            object_id=match.pk,
            after={**_match_snapshot(match), "breaks_resolved": closed},
        )
        return match


@dataclass
class AcceptResult:
    """What `match_accept` did: the matches made and the pairs left as they were, with why."""

    matches: list[Match] = field(default_factory=list)
    skipped: list[tuple[int, int, str]] = field(default_factory=list)


def match_accept(*, actor: Any, account_id: Any, pairs: Iterable[tuple[Any, Any]]) -> AcceptResult:
    """Accept several suggested matches of one bank account (a workspace page): each pair goes
    through `match_create` (same checks, its own transaction, audit entry and resolved breaks),
    so a pair matched meanwhile or no longer matching is skipped with its reason and the
    others are made. A line of another bank account is skipped as not found. At most
    `MAX_ACCEPT` pairs."""
    _require(actor)
    pairs = list(pairs)
    if len(pairs) > MAX_ACCEPT:
        raise ValidationFailed(
            fields={"pairs": _("Accept at most %(n)s matches at a time.") % {"n": MAX_ACCEPT}}
        )
    account = selectors.bank_account_list(actor).filter(pk=_int(account_id)).first()
    if account is None:
        raise NotFound()
    result = AcceptResult()
    on_account = set(
        BankStatementLine.objects.filter(
            statement__account=account, pk__in=[_int(line) for line, _transfer in pairs]
        ).values_list("pk", flat=True)
    )
    for line_id, transfer_id in pairs:
        if _int(line_id) not in on_account:
            result.skipped.append((_int(line_id), _int(transfer_id), str(LineNotFound().message)))
            continue
        try:
            result.matches.append(
                match_create(actor=actor, line_id=line_id, transfer_id=transfer_id)
            )
        except CpmsError as exc:
            details = [
                str(v)
                for v in exc.fields.values()
                if isinstance(v, str) and not v.isdigit() and v != exc.message
            ]
            text = " ".join(details) if details else str(exc.message)
            result.skipped.append((_int(line_id), _int(transfer_id), text))
    return result


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def match_undo(*, actor: Any, match_id: Any, reason: str) -> Match:
    """Undo an active match (kept with `undone_at`); the line and the transfer get open breaks
    again."""
    _require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": _("Say why the match is undone.")})
    with transaction.atomic():
        match = (
            Match.objects.select_related("line__statement__account", "transfer")
            .filter(
                pk=_int(match_id),
                undone_at__isnull=True,
                line__statement__account__in=selectors.bank_account_list(actor).values("pk"),
            )
            .first()
        )
        if match is None:
            raise MatchNotFound()
        before = _match_snapshot(match)
        match.undone_at = timezone.now()
        match.undone_by = _user(actor)
        match.undo_reason = reason[:500]
        match.save(update_fields=["undone_at", "undone_by", "undo_reason"])
        account = match.line.statement.account
        Break.objects.bulk_create(
            [_line_break(match.line, account), _transfer_break(match.transfer, account)]
        )
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_UNMATCHED,
            object_type=MATCH_OBJECT,
            object_id=match.pk,
            before=before,
            after=_match_snapshot(match),
            reason=reason,
        )
        return match


# ------------------------------------------------------------------------------------ breaks


def _break_snapshot(item: Break) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "account": item.account_id,
        "owner_id": item.owner_id,
        "status": item.status,
        "resolution": item.resolution,
    }


def _locked_break(actor: Any, break_id: Any) -> Break:
    found = selectors.break_get(actor, break_id)
    return Break.objects.select_for_update().get(pk=found.pk)


def break_assign(*, actor: Any, break_id: Any, owner_id: Any) -> Break:
    """Give a break an owner: an active member of staff who may reconcile."""
    from cpms.access.checks import user_has_permission
    from cpms.users.models import User

    _require(actor)
    with transaction.atomic():
        item = _locked_break(actor, break_id)
        if item.status != BreakStatus.OPEN:
            raise BreakClosed()
        owner = User.objects.filter(pk=_int(owner_id), is_active=True, is_staff=True).first()
        if owner is None or not user_has_permission(owner, RECONCILE_PERMISSION):
            raise ValidationFailed(
                fields={
                    "owner_id": _("The owner must be an active member of staff who may reconcile.")
                }
            )
        before = _break_snapshot(item)
        item.owner = owner
        item.save(update_fields=["owner"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_BREAK_ASSIGNED,
            object_type=BREAK_OBJECT,
            object_id=item.pk,
            before=before,
            after=_break_snapshot(item),
        )
        return item


def break_resolve(*, actor: Any, break_id: Any, note: str) -> Break:
    _require(actor)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(fields={"note": _("Say how the break was resolved.")})
    with transaction.atomic():
        item = _locked_break(actor, break_id)
        if item.status != BreakStatus.OPEN:
            raise BreakClosed()
        before = _break_snapshot(item)
        item.status = BreakStatus.RESOLVED
        item.resolution = note[:4000]
        item.resolved_at = timezone.now()
        item.resolved_by = _user(actor)
        item.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_BREAK_RESOLVED,
            object_type=BREAK_OBJECT,
            object_id=item.pk,
            before=before,
            after=_break_snapshot(item),
            reason=note[:500],
        )
        return item


# ------------------------------------------------------------------------------------ profiles


def profile_save(*, actor: Any, data: dict[str, Any]) -> CsvProfileRecord:
    """Store a user-defined CSV profile (validated by `CsvProfile.from_dict`: errors name the
    field). Names are unique and may not reuse a built-in profile's name."""
    _require(actor)
    profile = CsvProfile.from_dict(data)
    with transaction.atomic():
        if (
            profile.name in BUILTIN_PROFILES
            or CsvProfileRecord.objects.filter(name=profile.name).exists()
        ):
            raise ValidationFailed(
                fields={"name": _("A profile named %(name)s exists.") % {"name": profile.name}}
            )
        record = CsvProfileRecord.objects.create(
            name=profile.name,
            label=profile.label[:200],
            definition=profile.to_dict(),
            created_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_PROFILE_SAVED,
            object_type=PROFILE_OBJECT,
            object_id=record.pk,
            after={"name": record.name, "definition": record.definition},
        )
        return record


# ------------------------------------------------------------------------------------ report


def report_write(*, actor: Any, on: datetime.date | None = None) -> ReconciliationReport:
    """Record the daily reconciliation report for `on` (default today); writing the same day
    again replaces its figures (audited with before and after)."""
    _require(actor, "ledger.view")
    on = on or timezone.localdate()
    with transaction.atomic():
        data = selectors.report_build(None, on)
        existing = ReconciliationReport.objects.select_for_update().filter(date=on).first()
        before = existing.data if existing is not None else None
        if existing is None:
            report = ReconciliationReport.objects.create(
                date=on, data=data, written_by=_user(actor)
            )
        else:
            report = existing
            report.data = data
            report.written_at = timezone.now()
            report.written_by = _user(actor)
            report.save(update_fields=["data", "written_at", "written_by"])
        audit_record(
            actor=actor,
            action=AuditAction.RECONCILIATION_REPORT_WRITTEN,
            object_type=REPORT_OBJECT,
            object_id=report.pk,
            before={"data": before} if before is not None else None,
            after={"data": data},
        )
        return report
