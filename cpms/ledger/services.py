"""Every write of the ledger. Each public function owns its transaction, checks permission and
scope, validates, posts through `ledger.engine` and records its audit entry in the same
transaction.

Other domain services (points, loans, portfolios, reconciliation) post through `post_internal`
inside their own transaction and record their own audit entry."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.approvals import services as approvals
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.ledger import assets, engine, selectors, statements
from cpms.ledger.checks import CheckResult, ledger_check
from cpms.ledger.choices import (
    CUSTOMER_PURPOSES,
    HOT_PURPOSES,
    HOT_SHARDS,
    PURPOSE_NORMAL_SIDE,
    AccountKind,
    AccountPurpose,
    AssetKind,
    TransferKind,
)
from cpms.ledger.errors import (
    AccountNotFound,
    InvalidTransfer,
    NotPending,
    NotReversible,
    TransferNotFound,
    key_clash,
)
from cpms.ledger.models import (
    CLOSE_PERMISSION,
    POST_PERMISSION,
    VIEW_PERMISSION,
    Account,
    Asset,
    Balance,
    PeriodClose,
    Transfer,
)
from cpms.ledger.schemas import TransferIn
from cpms.privacy.errors import RateLimited
from cpms.privacy.services import reveal_budget_charge

logger = logging.getLogger("cpms.ledger")
# a LEDGER_CHECKED entry keeps the first problems; the count says how many there were
AUDITED_PROBLEMS = 50
MAX_REASON = 2000
ACCOUNT_OBJECT = "ledger.account"
TRANSFER_OBJECT = "ledger.transfer"
APPROVAL_ACTION = "ledger.transfer"
TransferSpec = engine.TransferSpec
# own codes of internal accounts; C<digits>: and INT: are the generated namespaces
_CODE = re.compile(r"^(?!C\d)(?!INT:)[A-Z0-9][A-Z0-9:_\-]{2,63}$")


@dataclass(frozen=True)
class TransferOutcome:
    transfers: list[Transfer]
    replayed: bool
    # approval requests opened for transfers held above the threshold
    approval_request_ids: tuple[int, ...] = ()

    @property
    def transfer(self) -> Transfer:
        return self.transfers[0]


# ------------------------------------------------------------------------ assets and accounts


def asset_get(code: str) -> Asset:
    """The asset row for `code`, created from its definition on first use (inside the caller's
    transaction; the account or transfer that needs it records the audit entry)."""
    code = (code or "").strip().upper()
    existing = Asset.objects.filter(code=code).first()
    if existing is not None:
        return existing
    definition = assets.definition(code)
    if definition is None:
        raise ValidationFailed(
            fields={
                "asset": _("%(code)s is not an ISO 4217 currency, PTS (points) or U:<instrument>.")
                % {"code": code or "''"}
            }
        )
    kind, exponent, name = definition
    try:
        with transaction.atomic():
            return Asset.objects.create(code=code, kind=kind, exponent=exponent, name=name)
    except IntegrityError:
        return Asset.objects.get(code=code)


def _account_code(purpose: str, asset: Asset, customer: Any, holding: Any) -> str:
    if customer is None:
        return f"INT:{purpose.upper()}:{asset.code}"
    suffix = f":H{holding.pk}" if holding is not None else ""
    return f"C{customer.pk}:{purpose.upper()}:{asset.code}{suffix}"[:64]


def _account_snapshot(account: Account) -> dict[str, Any]:
    return {
        "code": account.code,
        "name": account.name,
        "asset": account.asset.code,
        "kind": account.kind,
        "purpose": account.purpose,
        "normal_side": account.normal_side,
        "no_negative": account.no_negative,
        "shards": account.shards,
        "customer_id": account.customer_id,
        "holding_id": account.holding_id,
        "bank_account_identifier": account.bank_account_identifier,
        "status": account.status,
    }


def _create_account(
    *,
    actor: Any,
    purpose: str,
    asset: Asset,
    customer: Any = None,
    holding: Any = None,
    name: str = "",
    bank_account_identifier: str = "",
    code: str = "",
) -> Account:
    customer_account = purpose in CUSTOMER_PURPOSES
    no_negative = purpose in (
        AccountPurpose.CUSTOMER_CASH,
        AccountPurpose.CUSTOMER_POINTS,
        AccountPurpose.CUSTOMER_UNITS,
    )
    shards = HOT_SHARDS if purpose in HOT_PURPOSES else 1
    normal_side = PURPOSE_NORMAL_SIDE[AccountPurpose(purpose)]
    account = Account.objects.create(
        code=code or _account_code(purpose, asset, customer if customer_account else None, holding),
        name=(name or f"{AccountPurpose(purpose).label} {asset.code}")[:200],
        asset=asset,
        kind=AccountKind.CUSTOMER if customer_account else AccountKind.INTERNAL,
        purpose=purpose,
        normal_side=normal_side,
        no_negative=no_negative,
        shards=shards,
        customer=customer if customer_account else None,
        holding=holding if customer_account else None,
        bank_account_identifier=bank_account_identifier.replace(" ", "").upper(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    Balance.objects.bulk_create(
        Balance(account=account, shard=shard, normal_side=normal_side, no_negative=no_negative)
        for shard in range(shards)
    )
    audit_record(
        actor=actor,
        action=AuditAction.LEDGER_ACCOUNT_OPENED,
        object_type=ACCOUNT_OBJECT,
        object_id=account.pk,
        after=_account_snapshot(account),
    )
    return account


def _validate_purpose(purpose: str, customer: Any, holding: Any) -> None:
    if purpose not in AccountPurpose.values:
        raise ValidationFailed(
            fields={"purpose": _("Unknown account purpose %(p)s.") % {"p": purpose}}
        )
    if purpose in CUSTOMER_PURPOSES and customer is None:
        raise ValidationFailed(fields={"customer_id": _("A customer account needs its customer.")})
    if purpose not in CUSTOMER_PURPOSES and (customer is not None or holding is not None):
        raise ValidationFailed(
            fields={"customer_id": _("An internal account belongs to no customer.")}
        )
    if holding is not None and customer is not None and holding.customer_id != customer.pk:
        raise ValidationFailed(
            fields={"holding_id": _("The property item belongs to another customer.")}
        )


def internal_account(*, asset_code: str, purpose: str, actor: Any = None) -> Account:
    """The firm's standard internal account for `purpose` in `asset_code`, opened on first use
    (inside the caller's transaction)."""
    engine.require_transaction()
    asset = asset_get(asset_code)
    _validate_purpose(purpose, None, None)
    code = _account_code(purpose, asset, None, None)
    existing = Account.objects.select_related("asset").filter(code=code).first()
    if existing is not None:
        return existing
    return _create_account(actor=actor, purpose=purpose, asset=asset)


def customer_account(
    *, customer: Any, purpose: str, asset_code: str, holding: Any = None, actor: Any = None
) -> Account:
    """The customer's account for `purpose` in `asset_code` (per property item when given),
    opened on first use inside the caller's transaction. The caller checked scope."""
    engine.require_transaction()
    asset = asset_get(asset_code)
    _validate_purpose(purpose, customer, holding)
    code = _account_code(purpose, asset, customer, holding)
    existing = Account.objects.select_related("asset").filter(code=code).first()
    if existing is not None:
        return existing
    return _create_account(
        actor=actor, purpose=purpose, asset=asset, customer=customer, holding=holding
    )


def account_open(
    *,
    actor: Any,
    purpose: str,
    asset: str,
    customer_id: int | None = None,
    holding_id: int | None = None,
    name: str = "",
    bank_account_identifier: str = "",
    code: str = "",
) -> Account:
    """Open an account from the console/API/CLI (`ledger.post`; customer in scope). Opening an
    account that exists already is refused with its code. An internal account may be given its
    own `code` (e.g. a second client-money bank account in the same currency: "BANK:CMB:CNY")."""
    require_permission(actor, POST_PERMISSION)
    with transaction.atomic():
        customer = holding = None
        if customer_id is not None:
            customer = _customer_in_scope(actor, customer_id)
        _validate_purpose(purpose, customer, None)
        if holding_id is not None:
            holding = _holding_of(customer, holding_id)
        _validate_purpose(purpose, customer, holding)
        asset_row = asset_get(asset)
        if code:
            code = code.strip().upper()
            if customer is not None or not _CODE.match(code):
                raise ValidationFailed(
                    fields={
                        "code": _(
                            "Only an internal account takes its own code: 3 to 64 characters "
                            "A-Z, 0-9, ':', '-', '_', not starting with C<digit> or INT:."
                        )
                    }
                )
        else:
            code = _account_code(purpose, asset_row, customer, holding)
        if Account.objects.filter(code=code).exists():
            raise ValidationFailed(
                fields={"purpose": _("Account %(code)s exists.") % {"code": code}}
            )
        return _create_account(
            actor=actor,
            purpose=purpose,
            asset=asset_row,
            customer=customer,
            holding=holding,
            name=name,
            bank_account_identifier=bank_account_identifier,
            code=code,
        )


# ------------------------------------------------------------------------ scope


def _holding_of(customer: Customer | None, holding_id: Any) -> Any:
    """The customer's own property item `holding_id`. Any other (another customer's, possibly
    out of the actor's scope, or none at all) gets the same refusal."""
    from cpms.holdings.models import Holding

    holding = None
    if customer is not None:
        holding = Holding.objects.filter(pk=holding_id, customer=customer).first()
    if holding is None:
        raise ValidationFailed(fields={"holding_id": _("No property item has this id.")})
    return holding


def _customer_in_scope(actor: Any, customer_id: Any) -> Customer:
    condition = scope_filter(actor, POST_PERMISSION, Customer)
    customer = None
    if condition is not None:
        customer = Customer.objects.filter(condition, pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No customer has this id."), fields={"customer_id": str(customer_id)})
    return customer


# ------------------------------------------------------------------------ transfers


def _parse_items(items: Sequence[Any]) -> list[TransferIn]:
    parsed: list[TransferIn] = []
    problems: dict[str, str] = {}
    for index, item in enumerate(items):
        if isinstance(item, TransferIn):
            parsed.append(item)
            continue
        try:
            parsed.append(TransferIn.model_validate(dict(item)))
        except pydantic.ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error.get("loc", ()))
                prefix = f"transfers[{index}]." if len(items) > 1 else ""
                problems.setdefault(f"{prefix}{where}", error.get("msg", "invalid"))
        except (TypeError, ValueError):
            problems[f"transfers[{index}]"] = _("Each transfer must be an object.")
    if problems:
        raise InvalidTransfer(_("The transfer is not valid."), fields=problems)
    return parsed


def specs_from_input(actor: Any, items: Sequence[TransferIn]) -> list[TransferSpec]:
    """Resolve account references within the actor's `ledger.post` scope (customer accounts
    of customers in scope, and the firm's internal accounts); every unknown account is
    reported. An account out of scope is unknown: the reply names only the reference the
    caller sent, the same whether the account is out of scope or does not exist."""
    refs = [ref for item in items for ref in (item.debit_account, item.credit_account)]
    found = selectors.accounts_for_user(actor, refs, POST_PERMISSION)
    problems: dict[str, str] = {}
    specs: list[TransferSpec] = []
    for index, item in enumerate(items):
        prefix = f"transfers[{index}]." if len(items) > 1 else ""
        debit = found.get(item.debit_account)
        credit = found.get(item.credit_account)
        if debit is None:
            problems[f"{prefix}debit_account"] = _("No account %(ref)s.") % {
                "ref": item.debit_account
            }
        if credit is None:
            problems[f"{prefix}credit_account"] = _("No account %(ref)s.") % {
                "ref": item.credit_account
            }
        if debit is None or credit is None:
            continue
        if item.asset and item.asset.upper() != debit.asset.code:
            problems[f"{prefix}asset"] = _("The accounts hold %(asset)s.") % {
                "asset": debit.asset.code
            }
        specs.append(
            TransferSpec(
                debit_account=debit,
                credit_account=credit,
                amount=item.amount_minor,
                reference=item.reference,
                value_date=item.value_date,
                metadata=item.metadata,
                idempotency_key=item.idempotency_key,
                pending=item.pending,
                expires_at=item.expires_at,
            )
        )
    if problems:
        raise AccountNotFound(_("Some accounts are unknown."), fields=problems)
    return specs


def _transfer_snapshot(transfer: Transfer, accounts: Mapping[int, Account]) -> dict[str, Any]:
    return {
        "id": transfer.pk,
        "kind": transfer.kind,
        "debit": accounts[transfer.debit_account_id].code,
        "credit": accounts[transfer.credit_account_id].code,
        "amount_minor": transfer.amount,
        "asset": accounts[transfer.debit_account_id].asset.code,
        "reference": transfer.reference,
        "value_date": transfer.value_date.isoformat(),
        "idempotency_key": transfer.idempotency_key,
        "reverses": transfer.reverses_id,
        "pending": transfer.pending_id,
        "approval_request": transfer.approval_request_id,
    }


def _hold_for_approval(actor: Any, specs: Sequence[TransferSpec], reason: str) -> list[int]:
    """Transfers of money above the `ledger.transfer` threshold become holds awaiting approval:
    the funds are reserved now and posted when approved (voided when rejected or expired)."""
    opened: list[int] = []
    required = None
    for spec in specs:
        asset = spec.debit_account.asset
        if spec.pending or spec.reverses is not None or asset.kind != AssetKind.CURRENCY:
            continue
        if required is None:
            required = approvals.approval_rule(APPROVAL_ACTION)
        if not required(spec.amount, asset.code):
            continue
        spec.idempotency_key = spec.idempotency_key or engine.new_key()
        submission = approvals.approval_submit(
            actor=actor,
            action=APPROVAL_ACTION,
            payload={
                "idempotency_key": spec.idempotency_key,
                "debit": spec.debit_account.code,
                "credit": spec.credit_account.code,
                "amount_minor": spec.amount,
                "asset": asset.code,
                "reference": spec.reference,
            },
            object_type=TRANSFER_OBJECT,
            object_id=spec.idempotency_key,
            amount_minor=spec.amount,
            currency=asset.code,
            reason=reason or _("Transfer above the approval threshold"),
        )
        if submission.request is not None:
            spec.pending = True
            spec.approval_request_id = submission.request.pk
            spec.expires_at = submission.request.expires_at
            opened.append(submission.request.pk)
    return opened


def _post_with_approvals(
    actor: Any, specs: list[TransferSpec], reason: str, batch: uuid.UUID | None
) -> TransferOutcome:
    stored = engine.find_replay(specs)
    if stored is not None:
        return TransferOutcome(transfers=stored, replayed=True)
    opened = _hold_for_approval(actor, specs, reason)
    posted = engine.post(specs, actor=actor, batch=batch, replay_checked=True)
    return TransferOutcome(
        transfers=posted.transfers, replayed=posted.replayed, approval_request_ids=tuple(opened)
    )


def transfer_post(*, actor: Any, data: Any, reason: str = "") -> TransferOutcome:
    """Post one transfer (or hold it: `pending`, or above the approval threshold). A replay of
    its idempotency key returns the original and posts nothing."""
    require_permission(actor, POST_PERMISSION)
    reason = _clean_reason(reason)
    [item] = _parse_items([data])
    with transaction.atomic():
        specs = specs_from_input(actor, [item])
        outcome = _post_with_approvals(actor, specs, reason, None)
        if not outcome.replayed:
            transfer = outcome.transfer
            accounts = {
                specs[0].debit_account.pk: specs[0].debit_account,
                specs[0].credit_account.pk: specs[0].credit_account,
            }
            held = transfer.kind == TransferKind.PENDING
            audit_record(
                actor=actor,
                action=AuditAction.TRANSFER_HELD if held else AuditAction.TRANSFER_POSTED,
                object_type=TRANSFER_OBJECT,
                object_id=transfer.pk,
                after=_transfer_snapshot(transfer, accounts),
                reason=reason,
            )
    return outcome


def _clean_reason(reason: Any) -> str:
    """The reason shown to approvers of held transfers: text of at most 2,000 characters."""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ValidationFailed(fields={"reason": _("Give a text of at most 2000 characters.")})
    return reason


def _batch_digest(transfers: Sequence[Transfer]) -> str:
    digest = hashlib.sha256()
    for transfer in transfers:
        digest.update(
            json.dumps(
                [
                    transfer.idempotency_key,
                    transfer.debit_account_id,
                    transfer.credit_account_id,
                    transfer.amount,
                    transfer.kind,
                ],
                separators=(",", ":"),
            ).encode()
        )
    return digest.hexdigest()


def transfers_post(*, actor: Any, items: Sequence[Any], reason: str = "") -> TransferOutcome:
    """Post a linked batch (up to 8,190) all-or-nothing: one refusal refuses the batch. A replay
    of the whole batch returns the originals. One audit entry records the batch (ids, totals
    per asset, a digest of every transfer)."""
    require_permission(actor, POST_PERMISSION)
    reason = _clean_reason(reason)
    if not items:
        raise InvalidTransfer(fields={"transfers": _("Give at least one transfer.")})
    if len(items) > engine.MAX_BATCH:
        raise InvalidTransfer(
            fields={
                "transfers": _("At most %(max)s transfers per batch.") % {"max": engine.MAX_BATCH}
            }
        )
    parsed = _parse_items(items)
    batch = uuid.uuid4()
    with transaction.atomic():
        specs = specs_from_input(actor, parsed)
        outcome = _post_with_approvals(actor, specs, reason, batch)
        if not outcome.replayed:
            totals: dict[str, int] = defaultdict(int)
            for spec in specs:
                totals[spec.debit_account.asset.code] += spec.amount
            ids = [transfer.pk for transfer in outcome.transfers]
            audit_record(
                actor=actor,
                action=AuditAction.TRANSFER_BATCH_POSTED,
                object_type=TRANSFER_OBJECT,
                object_id=str(batch),
                after={
                    "batch": str(batch),
                    "count": len(ids),
                    "first_id": min(ids),
                    "last_id": max(ids),
                    "held": sum(1 for t in outcome.transfers if t.kind == TransferKind.PENDING),
                    "totals_minor": dict(sorted(totals.items())),
                    "sha256": _batch_digest(outcome.transfers),
                },
                reason=reason,
            )
    return outcome


def post_internal(
    *, actor: Any, specs: list[TransferSpec], batch: uuid.UUID | None = None
) -> engine.Posted:
    """For other domain services: post inside their transaction. They checked permission and
    scope and record their own audit entry naming the transfers."""
    return engine.post(specs, actor=actor, batch=batch)


def _locked_transfer(actor: Any, transfer_id: Any) -> Transfer:
    """The transfer to act on: both of its accounts in the actor's `ledger.post` scope (the
    expiry job, without an actor, reaches every row). Missing and out of scope are the same
    `TransferNotFound` (built by the selector)."""
    if actor is not None:
        return selectors.transfer_get_for_user(
            user=actor, transfer_id=transfer_id, permission=POST_PERMISSION
        )
    transfer = (
        Transfer.objects.select_related("debit_account__asset", "credit_account__asset")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise TransferNotFound()
    return transfer


def _resolve_hold(actor: Any, transfer: Transfer, *, post_it: bool, reason: str) -> Transfer:
    resolution = engine.resolve(transfer, post_it=post_it, actor=actor)
    accounts = {
        transfer.debit_account_id: transfer.debit_account,
        transfer.credit_account_id: transfer.credit_account,
    }
    audit_record(
        actor=actor,
        action=AuditAction.HOLD_POSTED if post_it else AuditAction.HOLD_VOIDED,
        object_type=TRANSFER_OBJECT,
        object_id=transfer.pk,
        before={"state": "pending"},
        after=_transfer_snapshot(resolution, accounts),
        reason=reason,
    )
    return resolution


def hold_post(*, actor: Any, transfer_id: Any, reason: str = "") -> Transfer:
    """Post a hold that is not waiting for approval (a hold awaiting approval posts only
    through the approval)."""
    require_permission(actor, POST_PERMISSION)
    with transaction.atomic():
        transfer = _locked_transfer(actor, transfer_id)
        if transfer.approval_request_id is not None:
            raise NotPending(
                _("This hold awaits approval; it posts when the request is approved."),
                fields={"transfer": str(transfer.pk)},
            )
        return _resolve_hold(actor, transfer, post_it=True, reason=reason)


def hold_void(*, actor: Any, transfer_id: Any, reason: str) -> Transfer:
    """Release a hold without posting it (reason required)."""
    require_permission(actor, POST_PERMISSION)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    with transaction.atomic():
        transfer = _locked_transfer(actor, transfer_id)
        if transfer.approval_request_id is not None:
            raise NotPending(
                _("This hold awaits approval; reject or cancel the request instead."),
                fields={"transfer": str(transfer.pk)},
            )
        return _resolve_hold(actor, transfer, post_it=False, reason=reason.strip())


def holds_expire(*, actor: Any = None, now: datetime.datetime | None = None) -> int:
    """Void every hold past its expiry that is not owned by an approval request (those lapse
    with their request). One audit entry per voided hold. Returns how many were voided."""
    now = now or timezone.now()
    candidates = list(
        Transfer.objects.filter(
            kind=TransferKind.PENDING,
            expires_at__lte=now,
            approval_request__isnull=True,
            resolution__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    voided = 0
    for pk in candidates:
        with transaction.atomic():
            transfer = _locked_transfer(None, pk)
            try:
                _resolve_hold(actor, transfer, post_it=False, reason="expired")
            except NotPending:
                continue
            voided += 1
    return voided


def transfer_reverse(
    *, actor: Any, transfer_id: Any, reason: str, idempotency_key: str | None = None
) -> TransferOutcome:
    """Undo a posted transfer with a new one in the opposite direction, linked to it. The
    original is never edited; it can be reversed once. The reversal obeys the no-negative rule
    like any transfer (money already spent cannot be pulled back)."""
    require_permission(actor, POST_PERMISSION)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(fields={"reason": _("Give a reason.")})
    with transaction.atomic():
        original = _locked_transfer(actor, transfer_id)
        key = idempotency_key or f"reverse:{original.pk}"
        replay = Transfer.objects.filter(idempotency_key=key).first()
        if replay is not None:
            if replay.reverses_id != original.pk:
                # the same reply as any key clash: it names neither the transfer nor its
                # accounts (the key may be another branch's)
                raise key_clash()
            return TransferOutcome(transfers=[replay], replayed=True)
        if original.kind not in (TransferKind.POSTED, TransferKind.POST_PENDING):
            raise NotReversible(
                _("Only a posted transfer can be reversed; void a hold instead."),
                fields={"transfer": str(original.pk)},
            )
        if original.reverses_id is not None:
            raise NotReversible(
                _("This transfer is itself a reversal; post a new transfer instead."),
                fields={"transfer": str(original.pk)},
            )
        if Transfer.objects.filter(reverses=original).exists():
            raise NotReversible(
                _("This transfer was reversed already."), fields={"transfer": str(original.pk)}
            )
        spec = TransferSpec(
            debit_account=original.credit_account,
            credit_account=original.debit_account,
            amount=original.amount,
            reference=f"REV {original.reference}"[:140]
            if original.reference
            else f"REV #{original.pk}",
            metadata={"reverses": original.pk, "reason": text[:500]},
            idempotency_key=key,
            reverses=original,
        )
        posted = engine.post([spec], actor=actor)
        reversal = posted.transfers[0]
        accounts = {
            original.debit_account_id: original.debit_account,
            original.credit_account_id: original.credit_account,
        }
        audit_record(
            actor=actor,
            action=AuditAction.TRANSFER_REVERSED,
            object_type=TRANSFER_OBJECT,
            object_id=original.pk,
            after=_transfer_snapshot(reversal, accounts),
            reason=text,
        )
    return TransferOutcome(transfers=[reversal], replayed=False)


# ------------------------------------------------------------------------ periods


def period_close(*, actor: Any, through: datetime.date, reason: str = "") -> PeriodClose:
    """Close the books through `through` (on or before today, after the last close). Waits for
    postings in flight (PostgreSQL advisory lock); afterwards nothing can be dated in it."""
    require_permission(actor, CLOSE_PERMISSION)
    if not isinstance(through, datetime.date):
        raise ValidationFailed(fields={"through": _("Give a date.")})
    if through >= engine.today():
        raise ValidationFailed(fields={"through": _("Only a period that has ended can be closed.")})
    with transaction.atomic():
        last = engine.closed_through(exclusive=True)
        if last is not None and through <= last:
            raise ValidationFailed(
                fields={
                    "through": _("The books are closed through %(date)s already.")
                    % {"date": last.isoformat()}
                }
            )
        close = PeriodClose.objects.create(
            through=through, reason=(reason or "")[:500], closed_by=actor
        )
        audit_record(
            actor=actor,
            action=AuditAction.PERIOD_CLOSED,
            object_type="ledger.period",
            object_id=close.pk,
            before={"closed_through": last.isoformat() if last else None},
            after={"closed_through": through.isoformat()},
            reason=reason or "",
        )
    return close


# ------------------------------------------------------------------------ maker-checker


def _approved_transfer(request: Any) -> Transfer:
    transfer = (
        Transfer.objects.select_related("debit_account__asset", "credit_account__asset")
        .filter(approval_request=request, kind=TransferKind.PENDING)
        .first()
    )
    if transfer is None:
        raise TransferNotFound(fields={"approval_request": str(request.pk)})
    return transfer


def execute_approved_transfer(*, request: Any, actor: Any) -> dict[str, Any]:
    """Approval executor: post the hold (runs in the final approval's transaction)."""
    transfer = _approved_transfer(request)
    resolution = _resolve_hold(actor, transfer, post_it=True, reason=_("approved"))
    return {"transfer_id": transfer.pk, "posted_id": resolution.pk}


def release_refused_transfer(*, request: Any, actor: Any, status: str) -> None:
    """Approval closer: a rejected, cancelled or expired request voids its hold."""
    transfer = _approved_transfer(request)
    if Transfer.objects.filter(pending=transfer).exists():
        return
    _resolve_hold(actor, transfer, post_it=False, reason=str(status))


def describe_transfer(payload: Mapping[str, Any]) -> str:
    amount = payload.get("amount_minor")
    asset_code = str(payload.get("asset", ""))
    definition = assets.definition(asset_code)
    text = (
        assets.format_minor(int(amount), definition[1])
        if isinstance(amount, int) and definition
        else str(amount)
    )
    return _("Transfer %(amount)s %(asset)s from %(debit)s to %(credit)s (%(reference)s)") % {
        "amount": text,
        "asset": asset_code,
        "debit": payload.get("debit", "?"),
        "credit": payload.get("credit", "?"),
        "reference": payload.get("reference") or "-",
    }


# ------------------------------------------------------------------------ audited reads


STATEMENT_REVEAL_REASON = "account statement for the customer"


def _statement_holder(
    actor: Any, account: Account, *, with_address: bool
) -> statements.Holder | None:
    """The customer a statement is for. The PDF goes to the customer and carries their postal
    address: it is decrypted through the privacy layer and the reveal is recorded
    (`pii.revealed`, field "address", counted against the actor's reveal budget) in the
    caller's transaction."""
    from cpms.privacy.protected import ERASED, pii_read

    customer = account.customer if account.customer_id else None
    if customer is None:
        return None
    address = ""
    if with_address:
        reveal_budget_charge(
            actor=actor,
            object_type=customer._meta.label_lower,
            object_id=str(customer.pk),
            reason=STATEMENT_REVEAL_REASON,
            details={"field": "address", "purpose": "ledger.statement", "account": account.code},
        )
        address = pii_read(customer, "address") or ""
        if address == ERASED:
            address = ""
    return statements.Holder(
        name=customer.legal_name, number=customer.customer_number, address=address
    )


def statement_export(
    *, actor: Any, account_ref: Any, start: Any, end: Any, fmt: str
) -> statements.StatementFile:
    """The statement of one account in scope as a PDF or XLSX file; records
    `ledger.statement_exported` (account, period, format, size) in the same transaction."""
    fmt = (fmt or "").lower()
    if fmt not in statements.FORMATS:
        raise ValidationFailed(
            _("Unknown statement format."), fields={"format": _("Use pdf or xlsx.")}
        )
    start, end = statements.validate_period(start, end)
    try:
        with transaction.atomic():
            account = selectors.account_get_for_user(
                user=actor, ref=account_ref, permission=VIEW_PERMISSION
            )
            statement = selectors.account_statement(account, start=start, end=end)
            holder = _statement_holder(actor, account, with_address=fmt == "pdf")
            content = (
                statements.render_pdf(statement, holder=holder)
                if fmt == "pdf"
                else statements.render_xlsx(statement, holder=holder)
            )
            audit_record(
                actor=actor,
                action=AuditAction.STATEMENT_EXPORTED,
                object_type="ledger.account",
                object_id=account.pk,
                after={
                    "account": account.code,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "format": fmt,
                    "lines": len(statement.lines),
                    "opening_minor": statement.opening,
                    "closing_minor": statement.closing,
                    "bytes": len(content),
                },
            )
    except RateLimited as exc:
        # the address reveal was refused (reveal budget used up): nothing was exported;
        # record the refusal like every refused reveal
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.PII_REVEAL_REFUSED,
                object_type="ledger.account",
                object_id=str(account_ref),
                after={"field": "address", "refusal": exc.code, "purpose": "ledger.statement"},
                reason=STATEMENT_REVEAL_REASON,
            )
        raise
    return statements.StatementFile(
        statements.filename(statement, fmt), statements.CONTENT_TYPES[fmt], content, statement
    )


def ledger_check_record(*, actor: Any = None) -> CheckResult:
    """Run `ledger_check` and record LEDGER_CHECKED with its outcome (used by `cpms ledger
    check` and the nightly job). Problems are also logged as errors."""
    result = ledger_check()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.LEDGER_CHECKED,
            object_type="ledger",
            object_id="",
            after={
                "ok": result.ok,
                "accounts": result.accounts,
                "transfers": result.transfers,
                "problem_count": len(result.problems),
                "problems": result.problems[:AUDITED_PROBLEMS],
            },
        )
    for problem in result.problems:
        logger.error("ledger check: %s", problem)
    return result
