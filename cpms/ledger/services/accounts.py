"""Assets and accounts: the asset row made on first use, the firm's internal accounts and the
customers' accounts opened on first use by other services, and `account_open` for the console,
API and CLI. A new account gets its balance shards from the engine, and an audit entry."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import scope_filter
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers.models import Customer
from cpms.holdings.models import Holding
from cpms.ledger import assets, engine
from cpms.ledger.choices import (
    CUSTOMER_PURPOSES,
    HOT_PURPOSES,
    HOT_SHARDS,
    PURPOSE_NORMAL_SIDE,
    AccountKind,
    AccountPurpose,
)
from cpms.ledger.models import POST_PERMISSION, Account, Asset
from cpms.ledger.services._shared import ACCOUNT_OBJECT

# own codes of internal accounts; C<digits>: and INT: are the generated namespaces
_CODE = re.compile(r"^(?!C\d)(?!INT:)[A-Z0-9][A-Z0-9:_\-]{2,63}$")


class _DryRun(Exception):
    """Rolls back an `account_open(dry_run=True)`, carrying the account it would open."""

    def __init__(self, account: Account) -> None:
        super().__init__()
        self.account = account


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
    account = Account.objects.create(
        code=code or _account_code(purpose, asset, customer if customer_account else None, holding),
        name=(name or f"{AccountPurpose(purpose).label} {asset.code}")[:200],
        asset=asset,
        kind=AccountKind.CUSTOMER if customer_account else AccountKind.INTERNAL,
        purpose=purpose,
        normal_side=PURPOSE_NORMAL_SIDE[AccountPurpose(purpose)],
        no_negative=no_negative,
        shards=HOT_SHARDS if purpose in HOT_PURPOSES else 1,
        customer=customer if customer_account else None,
        holding=holding if customer_account else None,
        bank_account_identifier=bank_account_identifier.replace(" ", "").upper(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    engine.balances_open(account)
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


def _own_code(code: str, customer: Customer | None) -> str:
    """The own code asked for an internal account, upper-cased; refused for a customer account
    or outside the allowed pattern."""
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
    return code


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
    dry_run: bool = False,
) -> Account:
    """Open an account from the console/API/CLI (`ledger.post`; customer in scope). Opening an
    account that exists already is refused with its code. An internal account may be given its
    own `code` (e.g. a second client-money bank account in the same currency: "BANK:CMB:CNY").
    `dry_run`: check everything and answer the account that would be opened, writing nothing
    (no account, no audit entry)."""
    require_permission(actor, POST_PERMISSION)
    try:
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
                code = _own_code(code, customer)
            else:
                code = _account_code(purpose, asset_row, customer, holding)
            if Account.objects.filter(code=code).exists():
                raise ValidationFailed(
                    fields={"purpose": _("Account %(code)s exists.") % {"code": code}}
                )
            account = _create_account(
                actor=actor,
                purpose=purpose,
                asset=asset_row,
                customer=customer,
                holding=holding,
                name=name,
                bank_account_identifier=bank_account_identifier,
                code=code,
            )
            if dry_run:
                raise _DryRun(account)
    except _DryRun as rolled_back:
        return rolled_back.account
    return account


# ------------------------------------------------------------------------ scope


def _holding_of(customer: Customer | None, holding_id: Any) -> Holding:
    """The customer's own property item `holding_id`. Any other (another customer's, possibly
    out of the actor's scope, or none at all) gets the same refusal."""
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
