"""Matching statement lines to ledger transfers: automatic matching at import (the rules live
with the reads in `selectors.ranked_pairs`, the workspace suggests by them), a match by hand,
accepting a page of suggestions, and undoing a match (which opens the breaks again)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import CpmsError, NotFound, ValidationFailed
from cpms.core.money import format_minor
from cpms.ledger.models import Account, Transfer
from cpms.reconciliation import selectors
from cpms.reconciliation.choices import MatchHow
from cpms.reconciliation.errors import AlreadyMatched, LineNotFound, MatchNotFound, NotMatchable
from cpms.reconciliation.models import BankStatementLine, Break, Match
from cpms.reconciliation.services._shared import (
    ACCOUNT_OBJECT,
    MATCH_OBJECT,
    _close_breaks,
    _int,
    _line_break,
    _require,
    _transfer_break,
    _user,
)

DEFAULT_WINDOW_DAYS = selectors.DEFAULT_WINDOW_DAYS
# the matching rules live with the reads (the workspace suggests by them); kept here by name
date_window_days = selectors.date_window_days
_reference_rank = selectors.reference_rank
# at most this many suggested matches are accepted in one go (a workspace page is 50 lines)
MAX_ACCEPT = 200


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


def _match_snapshot(match: Match) -> dict[str, Any]:
    """A match as its audit entries record it (before and after an undo)."""
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
        transfer = _matchable_transfer(line, account, transfer_id)
        _refuse_if_matched(line, transfer)
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


def _matchable_transfer(line: BankStatementLine, account: Account, transfer_id: Any) -> Transfer:
    """The posted transfer `transfer_id` on the line's bank account, refused unless it moves
    the line's amount in the line's direction."""
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
    return transfer


def _refuse_if_matched(line: BankStatementLine, transfer: Transfer) -> None:
    """A line or a transfer is in one active match at most: undo that one first."""
    active = Match.objects.filter(undone_at__isnull=True)
    if active.filter(line=line).exists():
        raise AlreadyMatched(
            _("Statement line %(id)s is matched already: undo that match first.") % {"id": line.pk},
            fields={"line_id": str(line.pk)},
        )
    if active.filter(transfer=transfer).exists():
        raise AlreadyMatched(
            _("Transfer %(id)s is matched already: undo that match first.") % {"id": transfer.pk},
            fields={"transfer_id": str(transfer.pk)},
        )


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
