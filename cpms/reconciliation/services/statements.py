"""Statement import: parse the file (MT940, CAMT.053, CSV by profile), find each statement's
bank account, store it with its lines, flag a statement that does not add up, then auto-match
its lines and open breaks for what is left, all in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.ledger.models import Account
from cpms.reconciliation import selectors
from cpms.reconciliation.choices import BalanceCheck, BreakKind
from cpms.reconciliation.errors import DuplicateStatement, ProfileNotFound, StatementRefused
from cpms.reconciliation.formats import (
    BUILTIN_PROFILES,
    CsvProfile,
    ParsedStatement,
    StatementUnreadable,
    parse_statements,
    profile_matches,
)
from cpms.reconciliation.models import BankStatement, BankStatementLine, Break
from cpms.reconciliation.services._shared import STATEMENT_OBJECT, _open_breaks, _require, _user
from cpms.reconciliation.services.matching import auto_match

# (position in the file, parsed statement, its bank account)
Target = tuple[int, ParsedStatement, Account]


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
    """What `statement_import` did, for the console's messages, the API and the CLI."""

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
    """The statements of the file: by the named profile when one is given, else by the
    detected format; a CSV file no built-in profile reads is tried with the stored profiles
    whose header it has."""
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
    """The bank account of one statement: the one given, or the client-money bank account with
    the statement's identifier; refused (with what to do) when none fits or its currency
    differs."""
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
    """A refusal as one sentence for `RefusedStatement.reason`."""
    texts = [str(value) for value in exc.fields.values() if isinstance(value, str)]
    return " ".join(texts) or exc.message


def _resolve_all(
    parsed_statements: list[ParsedStatement], explicit: Account | None
) -> tuple[list[Target], list[RefusedStatement]]:
    """The bank account of each statement. A statement whose account cannot be found (or is in
    another currency) is refused alone; when every statement is refused, the file is."""
    targets: list[Target] = []
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
    """The bank account the user named (code or id), if any; refused when it names none the
    actor may see."""
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
    """The stored statement as the audit entry records it."""
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
    """Store one parsed statement with its lines (audited); one that does not add up also gets
    a break and a second audit entry saying why."""
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
    _store_lines(statement, parsed)
    audit_record(
        actor=actor,
        action=AuditAction.BANK_STATEMENT_IMPORTED,
        object_type=STATEMENT_OBJECT,
        object_id=statement.pk,
        after=_statement_snapshot(statement),
    )
    if check == BalanceCheck.DOES_NOT_ADD_UP:
        _flag_inconsistent(actor, statement, problems)
    return statement


def _store_lines(statement: BankStatement, parsed: ParsedStatement) -> None:
    """The statement's lines in one insert, text cut to the column sizes."""
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


def _flag_inconsistent(actor: Any, statement: BankStatement, problems: list[str]) -> None:
    """A statement whose balances and entries do not add up: a break for the difference, so
    someone looks at it, and an audit entry with the parsers' explanations."""
    Break.objects.create(
        account=statement.account,
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
        new_targets = _skip_already_imported(targets, sha, result)
        if not new_targets:
            _refuse_duplicate(sha, result.already_imported[0])
        for position, parsed, bank in new_targets:
            statement = _store(actor, parsed, bank, sha=sha, position=position, filename=filename)
            result.statements.append(statement)
            if statement.balance_check == BalanceCheck.DOES_NOT_ADD_UP:
                result.flagged.append(statement)
            elif statement.balance_check == BalanceCheck.NOT_CHECKABLE:
                result.not_checkable.append(statement)
        _match_and_open_breaks(actor, result)
    return result


def _skip_already_imported(targets: list[Target], sha: str, result: ImportResult) -> list[Target]:
    """The statements of the file not imported for their account yet; the others (same file,
    same position, same account) go to `result.already_imported`."""
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
    return new_targets


def _match_and_open_breaks(actor: Any, result: ImportResult) -> None:
    """Per bank account, auto-match the new statements' lines, then open breaks for what is
    left unmatched; counted in `result`."""
    by_account: dict[int, list[BankStatement]] = {}
    for statement in result.statements:
        by_account.setdefault(statement.account_id, []).append(statement)
    for statements in by_account.values():
        bank = statements[0].account
        lines = list(BankStatementLine.objects.filter(statement__in=statements))
        pairs = auto_match(actor=actor, account=bank, lines=lines)
        result.matches += len(pairs)
        result.breaks += _open_breaks(bank, statements)


def _refuse_duplicate(sha: str, earlier: BankStatement) -> None:
    """Every statement of the file was imported before: say when and for which account."""
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
