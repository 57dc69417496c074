"""Every write of the property register. Each function checks the actor's permission and the
owner customer's scope, validates, writes and records its audit entry in one transaction.

Kind-specific details (schemas.DETAIL_SCHEMAS) are written with the holding in the same
transaction; an account number is encrypted with the owner customer's data key and
blind-indexed (`privacy.services.pii_assign`); a loan's repayment schedule is regenerated
whenever its terms change (`loans.schedule`)."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pydantic
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core import crypto
from cpms.core.errors import NotFound, ValidationFailed
from cpms.customers import validators
from cpms.customers.models import Customer
from cpms.holdings import loans
from cpms.holdings.choices import (
    STATUS_TRANSITIONS,
    AccountType,
    HoldingKind,
    HoldingStatus,
)
from cpms.holdings.errors import (
    CustodyOwned,
    HoldingClosed,
    HoldingExists,
    HoldingStatusRefused,
    PositionExists,
    PriceImportFailed,
    WrongKind,
)
from cpms.holdings.models import (
    MANAGE_PERMISSION,
    AccountDetail,
    ContractDetail,
    DataAssetDetail,
    Holding,
    HoldingValuation,
    InstrumentPrice,
    IntellectualPropertyDetail,
    LoanDetail,
    LoanInstalment,
    MembershipDetail,
    PortfolioPosition,
)
from cpms.holdings.schemas import (
    AccountDetails,
    PositionIn,
    parse_details,
    pydantic_fields,
)
from cpms.privacy.protected import pii_read
from cpms.privacy.services import blind_index_root, pii_assign, value_digest

OBJECT_TYPE = "holdings.holding"
PRICE_OBJECT_TYPE = "holdings.instrumentprice"
CLOSED_STATUSES = (HoldingStatus.CLOSED, HoldingStatus.RETURNED, HoldingStatus.DISPOSED)
# kind -> (detail model, fields copied from the schema)
SIMPLE_DETAILS: dict[str, tuple[Any, tuple[str, ...]]] = {
    HoldingKind.MEMBERSHIP: (MembershipDetail, ("programme", "member_number", "tier", "joined_on")),
    HoldingKind.INTELLECTUAL_PROPERTY: (
        IntellectualPropertyDetail,
        ("ip_type", "registration_number", "jurisdiction", "expires_on"),
    ),
    HoldingKind.CONTRACT: (
        ContractDetail,
        ("contract_number", "counterparty", "signed_on", "expires_on"),
    ),
    HoldingKind.DATA_ASSET: (
        DataAssetDetail,
        ("category", "system", "record_count", "lawful_basis", "retention_until"),
    ),
}
LOAN_TERMS = (
    "principal_minor",
    "currency",
    "annual_rate_percent",
    "term_months",
    "method",
    "start_date",
)
POSITION_FIELDS = (
    "instrument_code",
    "instrument_name",
    "asset_class",
    "quantity",
    "cost_minor",
    "currency",
)


def _owner(actor: Any, customer: Customer | int, permission: str = MANAGE_PERMISSION) -> Customer:
    """The owner customer, if the actor reaches it with `permission` (404 otherwise)."""
    pk = customer.pk if isinstance(customer, Customer) else customer
    return get_for_user(Customer.objects.all(), user=actor, pk=pk, permission=permission)


def _check_value(value_minor: Any, currency: str, valued_on: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if value_minor is not None and (not isinstance(value_minor, int) or value_minor < 0):
        errors["value_minor"] = _("Give the value as a whole number of minor units, 0 or more.")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        errors["currency"] = _("Give a three-letter ISO 4217 currency code, e.g. CNY.")
    if value_minor is not None and valued_on is None:
        errors["valued_on"] = _("Give the valuation date with the value.")
    if isinstance(valued_on, datetime.date) and valued_on > timezone.localdate():
        errors["valued_on"] = _("The valuation date cannot be in the future.")
    return errors


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --- accounts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _AccountNumber:
    value: str
    warnings: list[dict[str, str]]


def _check_account_number(account_type: str, number: str) -> _AccountNumber:
    """An IBAN (two letters first) or a card / account number of digits (Luhn failure is a
    warning: some real numbers fail it)."""
    compact = "".join(number.split()).replace("-", "").upper()
    try:
        if account_type != AccountType.CARD and compact[:2].isalpha():
            checked = validators.check_iban(compact)
        else:
            checked = validators.check_bank_card(compact)
    except validators.IdentifierInvalid as exc:
        raise ValidationFailed(
            _("Check the highlighted fields."), fields={"details.number": str(exc.message)}
        ) from None
    warnings = [
        {"field": "number", "code": warning.code, "message": str(warning.message)}
        for warning in checked.warnings
    ]
    return _AccountNumber(checked.value, warnings)


def account_identifier(number: str, *, actor: Any = None) -> str:
    """The identifier of an account holding: the last four digits and a keyed digest of the
    number (stable, so imports find the same holding; never the number itself)."""
    root = blind_index_root(actor=actor)
    digest = crypto.blind_index(root, "holdings.account.identifier", "bank_account", number)
    return f"****{number[-4:]}-{digest[:12]}"


# --- details ------------------------------------------------------------------------------


def _prepare_details(
    kind: str, details: Any, *, creating: bool
) -> tuple[Any, _AccountNumber | None]:
    parsed = parse_details(kind, details)
    number = None
    if isinstance(parsed, AccountDetails):
        if parsed.number:
            number = _check_account_number(parsed.account_type, parsed.number)
        elif creating:
            raise ValidationFailed(
                _("Check the highlighted fields."),
                fields={"details.number": _("Give the account number.")},
            )
    return parsed, number


def _schedule_write(loan: LoanDetail) -> list[LoanInstalment]:
    loan.instalments.all().delete()
    lines = loans.schedule(
        principal_minor=loan.principal_minor,
        annual_rate_percent=loan.annual_rate_percent,
        term_months=loan.term_months,
        method=loan.method,
        start_date=loan.start_date,
    )
    rows = LoanInstalment.objects.bulk_create(
        LoanInstalment(loan=loan, **line.__dict__) for line in lines
    )
    loan.schedule_generated_at = timezone.now()
    loan.save(update_fields=["schedule_generated_at"])
    return rows


def _schedule_audit(actor: Any, loan: LoanDetail, rows: list[LoanInstalment]) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.LOAN_SCHEDULE_GENERATED,
        object_type=OBJECT_TYPE,
        object_id=loan.holding_id,
        after={
            **{name: _plain(getattr(loan, name)) for name in LOAN_TERMS},
            "instalments": len(rows),
            "total_interest_minor": sum(row.interest_minor for row in rows),
            "total_payment_minor": sum(row.payment_minor for row in rows),
        },
    )


def _position_values(position: PositionIn | PortfolioPosition) -> dict[str, Any]:
    return {name: _plain(getattr(position, name)) for name in POSITION_FIELDS}


def _details_write(
    *, actor: Any, holding: Holding, parsed: Any, number: _AccountNumber | None
) -> tuple[dict[str, Any], str | None, bool]:
    """Create or change the detail rows of `holding`. Returns the audit snapshot of the
    details, the account-number digest (or None) and whether a loan schedule was generated."""
    kind = holding.kind
    digest = None
    scheduled = False
    if kind == HoldingKind.ACCOUNT:
        account = AccountDetail.objects.filter(holding=holding).first() or AccountDetail(
            holding=holding, customer_id=holding.customer_id
        )
        account.account_type = parsed.account_type
        account.institution = parsed.institution
        if account.pk is None:
            account.save()
        fields = ["account_type", "institution"]
        if number is not None:
            fields += pii_assign(actor=actor, instance=account, values={"number": number.value})
            account.data_warnings = number.warnings
            fields.append("data_warnings")
            digest = value_digest(number.value, actor=actor)
        account.save(update_fields=fields)
        snapshot = {"account_type": account.account_type, "institution": account.institution}
    elif kind == HoldingKind.PORTFOLIO:
        now = timezone.now()
        PortfolioPosition.objects.bulk_create(
            PortfolioPosition(holding=holding, created_at=now, updated_at=now, **dict(position))
            for position in parsed.positions
        )
        snapshot = {"positions": [_position_values(position) for position in parsed.positions]}
    elif kind == HoldingKind.LOAN:
        loan = LoanDetail.objects.filter(holding=holding).first()
        values = {name: getattr(parsed, name) for name in LOAN_TERMS}
        changed = loan is None or any(getattr(loan, k) != v for k, v in values.items())
        if loan is None:
            loan = LoanDetail.objects.create(holding=holding, **values)
        else:
            for name, value in values.items():
                setattr(loan, name, value)
            loan.save(update_fields=list(values))
        if changed:
            _schedule_audit(actor, loan, _schedule_write(loan))
            scheduled = True
        snapshot = {name: _plain(value) for name, value in values.items()}
    else:
        model, names = SIMPLE_DETAILS[kind]
        values = {name: getattr(parsed, name) for name in names}
        model.objects.update_or_create(holding=holding, defaults=values)
        snapshot = {name: _plain(value) for name, value in values.items()}
    return snapshot, digest, scheduled


def details_snapshot(holding: Holding) -> dict[str, Any] | None:
    """The stored details of a holding as plain values (no account number)."""
    kind = holding.kind
    if kind == HoldingKind.ACCOUNT:
        account = AccountDetail.objects.filter(holding=holding).first()
        if account is None:
            return None
        return {"account_type": account.account_type, "institution": account.institution}
    if kind == HoldingKind.LOAN:
        loan = LoanDetail.objects.filter(holding=holding).first()
        return None if loan is None else {name: getattr(loan, name) for name in LOAN_TERMS}
    if kind in SIMPLE_DETAILS:
        model, names = SIMPLE_DETAILS[kind]
        row = model.objects.filter(holding=holding).first()
        return None if row is None else {name: getattr(row, name) for name in names}
    return None


# --- holdings -----------------------------------------------------------------------------


def holding_register(
    *,
    actor: Any,
    customer: Customer | int,
    kind: str,
    identifier: str = "",
    description: str = "",
    value_minor: int | None = None,
    currency: str = "CNY",
    valued_on: datetime.date | None = None,
    location: str = "",
    custodian: Any = None,
    permission: str = MANAGE_PERMISSION,
    details: Any = None,
) -> Holding:
    """Register one property item for a customer in the actor's scope, with its kind-specific
    `details` (validated by schemas.DETAIL_SCHEMAS[kind]) in the same transaction. Details of
    other apps' kinds (custody items) are added by the caller inside its own
    `transaction.atomic()`. `permission` lets the custody app register with `custody.operate`.
    An account's identifier may be left empty: it is derived from the number (never the
    number itself)."""
    require_permission(actor, permission)
    errors: dict[str, str] = {}
    if kind not in HoldingKind.values:
        errors["kind"] = _("Unknown kind of property.")
    parsed = number = None
    if details is not None and kind in HoldingKind.values:
        try:
            parsed, number = _prepare_details(kind, details, creating=True)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    identifier = (identifier or "").strip()
    if number is not None and (not identifier or _compact(identifier) == number.value):
        identifier = account_identifier(number.value, actor=actor)
    if not identifier and not (kind == HoldingKind.ACCOUNT and "details.number" in errors):
        errors["identifier"] = _("Give an identifier (account number, contract number, serial…).")
    elif len(identifier) > 120:
        errors["identifier"] = _("At most 120 characters.")
    currency = (currency or "").strip().upper()
    errors.update(_check_value(value_minor, currency, valued_on))
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    now = timezone.now()
    with transaction.atomic():
        owner = _owner(actor, customer, permission)
        if Holding.objects.filter(customer=owner, kind=kind, identifier=identifier).exists():
            raise HoldingExists(fields={"identifier": _("Already registered for this customer.")})
        try:
            with transaction.atomic():
                holding = Holding.objects.create(
                    holding_number=f"new-{uuid.uuid4().hex}",
                    customer=owner,
                    kind=kind,
                    identifier=identifier,
                    description=(description or "").strip()[:300],
                    value_minor=value_minor,
                    currency=currency,
                    valued_on=valued_on,
                    location=(location or "").strip()[:120],
                    custodian=custodian,
                    status_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            raise HoldingExists(
                fields={"identifier": _("Already registered for this customer.")}
            ) from None
        holding.holding_number = f"P{holding.pk:08d}"
        holding.save(update_fields=["holding_number"])
        if value_minor is not None:
            HoldingValuation.objects.create(
                holding=holding,
                value_minor=value_minor,
                currency=currency,
                valued_on=valued_on,
                source="registration",
                recorded_by=actor,
                recorded_at=now,
            )
        after = {
            "holding_number": holding.holding_number,
            "customer_id": owner.pk,
            "kind": kind,
            "identifier": identifier,
            "description": holding.description,
            "value_minor": value_minor,
            "currency": currency,
            "valued_on": valued_on.isoformat() if valued_on else None,
        }
        pii_fields: tuple[str, ...] = ()
        if parsed is not None:
            snapshot, digest, _scheduled = _details_write(
                actor=actor, holding=holding, parsed=parsed, number=number
            )
            after["details"] = snapshot
            if digest is not None:
                after["account_number"] = digest
                pii_fields = ("account_number",)
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_REGISTERED,
            object_type=OBJECT_TYPE,
            object_id=holding.pk,
            after=after,
            pii_fields=pii_fields,
        )
    return holding


def _compact(value: str) -> str:
    return "".join(value.split()).replace("-", "").upper()


def _locked(actor: Any, holding: Holding | int) -> Holding:
    """The holding row, locked, if the actor may manage it (404 otherwise)."""
    pk = holding.pk if isinstance(holding, Holding) else holding
    return get_for_user(
        Holding.objects.select_for_update(), user=actor, pk=pk, permission=MANAGE_PERMISSION
    )


def _require_open(holding: Holding) -> None:
    if holding.status in CLOSED_STATUSES:
        raise HoldingClosed()


def _custodian_id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    pk = getattr(value, "pk", value)
    staff = get_user_model()._default_manager.filter(pk=pk, is_active=True, is_staff=True)
    if not isinstance(pk, int) or not staff.exists():
        raise ValidationFailed(
            _("Check the highlighted fields."),
            fields={"custodian_id": _("The custodian must be an active member of staff.")},
        )
    return pk


def holding_update(*, actor: Any, holding: Holding, data: Mapping[str, Any] | Any) -> Holding:
    """Change the description, location, custodian and details given in `data` (keys that are
    absent stay as they are). Details are merged into the stored ones and validated whole; an
    account number given again is re-encrypted; a loan whose terms change gets a new schedule.
    Positions of a portfolio change through position_add/position_change/position_remove."""
    require_permission(actor, MANAGE_PERMISSION)
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_unset=True)
    data = dict(data)
    unknown = sorted(set(data) - {"description", "location", "custodian_id", "details"})
    if unknown:
        raise ValidationFailed(fields=dict.fromkeys(unknown, _("This field cannot be changed.")))
    with transaction.atomic():
        locked = _locked(actor, holding)
        _require_open(locked)
        if locked.kind == HoldingKind.CUSTODY_ITEM and set(data) - {"description"}:
            raise CustodyOwned()
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, limit in (("description", 300), ("location", 120)):
            if name in data:
                value = (data[name] or "").strip()
                if len(value) > limit:
                    errors[name] = _("Too long.")
                elif value != getattr(locked, name):
                    before[name], after[name] = getattr(locked, name), value
                    setattr(locked, name, value)
        if "custodian_id" in data:
            try:
                custodian_id = _custodian_id(data["custodian_id"])
            except ValidationFailed as exc:
                errors.update(exc.fields)
            else:
                if custodian_id != locked.custodian_id:
                    before["custodian_id"] = locked.custodian_id
                    after["custodian_id"] = custodian_id
                    locked.custodian_id = custodian_id
        parsed = number = None
        if data.get("details") is not None:
            given = dict(data["details"])
            if locked.kind == HoldingKind.PORTFOLIO and "positions" in given:
                errors["details.positions"] = _("Change positions through the position operations.")
            else:
                current = details_snapshot(locked) or {}
                merged = {**current, **given}
                try:
                    parsed, number = _prepare_details(
                        locked.kind, merged, creating=not current and locked.kind == "account"
                    )
                except ValidationFailed as exc:
                    errors.update(exc.fields)
                else:
                    old = {name: _plain(value) for name, value in current.items()}
                    new = {
                        name: _plain(value)
                        for name, value in parsed.model_dump().items()
                        if name not in ("number", "positions")
                    }
                    if old != new:
                        before["details"], after["details"] = old, new
        if errors:
            raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
        pii_fields: tuple[str, ...] = ()
        if parsed is not None:
            if number is not None:
                account = AccountDetail.objects.filter(holding=locked).first()
                current_number = pii_read(account, "number") if account else None
                if current_number != number.value:
                    before["account_number"] = (
                        value_digest(current_number, actor=actor) if current_number else ""
                    )
                    pii_fields = ("account_number",)
                else:
                    number = None
            if "details" in after or number is not None:
                _snapshot, digest, _scheduled = _details_write(
                    actor=actor, holding=locked, parsed=parsed, number=number
                )
                if digest is not None:
                    after["account_number"] = digest
        if not after:
            return locked
        locked.updated_at = timezone.now()
        locked.save(update_fields=["description", "location", "custodian", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_UPDATED,
            object_type=OBJECT_TYPE,
            object_id=locked.pk,
            before=before,
            after=after,
            pii_fields=pii_fields,
        )
    return locked


def holding_status_change(
    *, actor: Any, holding: Holding, status: str, reason: str = ""
) -> Holding:
    """Move a holding along choices.STATUS_TRANSITIONS. Items in custody are refused: their
    lifecycle belongs to cpms/custody/."""
    require_permission(actor, MANAGE_PERMISSION)
    with transaction.atomic():
        locked = _locked(actor, holding)
        if locked.kind == HoldingKind.CUSTODY_ITEM:
            raise CustodyOwned()
        if status not in STATUS_TRANSITIONS.get(locked.status, ()):
            raise HoldingStatusRefused(
                fields={
                    "status": _("From %(current)s the status can move to: %(allowed)s.")
                    % {
                        "current": locked.status,
                        "allowed": ", ".join(STATUS_TRANSITIONS.get(locked.status, ())) or "—",
                    }
                }
            )
        before = locked.status
        locked.status = status
        locked.status_changed_at = locked.updated_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_STATUS_CHANGED,
            object_type=OBJECT_TYPE,
            object_id=locked.pk,
            before={"status": before},
            after={"status": status},
            reason=(reason or "").strip()[:500],
        )
    return locked


def holding_revalue(
    *,
    actor: Any,
    holding: Holding,
    value_minor: int,
    currency: str,
    valued_on: datetime.date,
    source: str = "",
) -> HoldingValuation:
    """Record a new valuation (history row + the holding's current value)."""
    require_permission(actor, MANAGE_PERMISSION)
    currency = (currency or "").strip().upper()
    errors = _check_value(value_minor, currency, valued_on)
    if value_minor is None:
        errors["value_minor"] = _("Give the value.")
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = get_for_user(
            Holding.objects.select_for_update(),
            user=actor,
            pk=holding.pk,
            permission=MANAGE_PERMISSION,
        )
        before = {
            "value_minor": locked.value_minor,
            "currency": locked.currency,
            "valued_on": locked.valued_on.isoformat() if locked.valued_on else None,
        }
        valuation = HoldingValuation.objects.create(
            holding=locked,
            value_minor=value_minor,
            currency=currency,
            valued_on=valued_on,
            source=(source or "").strip()[:80],
            recorded_by=actor,
        )
        if locked.valued_on is None or valued_on >= locked.valued_on:
            locked.value_minor = value_minor
            locked.currency = currency
            locked.valued_on = valued_on
            locked.updated_at = timezone.now()
            locked.save(update_fields=["value_minor", "currency", "valued_on", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_REVALUED,
            object_type=OBJECT_TYPE,
            object_id=locked.pk,
            before=before,
            after={
                "value_minor": value_minor,
                "currency": currency,
                "valued_on": valued_on.isoformat(),
                "source": valuation.source,
            },
        )
    holding.refresh_from_db()
    return valuation


def loan_schedule_generate(*, actor: Any, holding: Holding) -> list[LoanInstalment]:
    """Regenerate a loan's repayment schedule from its stored terms (they are regenerated
    automatically when the terms change; this is for an explicit refresh)."""
    require_permission(actor, MANAGE_PERMISSION)
    with transaction.atomic():
        locked = _locked(actor, holding)
        loan = LoanDetail.objects.filter(holding=locked).first()
        if locked.kind != HoldingKind.LOAN or loan is None:
            raise WrongKind()
        _require_open(locked)
        rows = _schedule_write(loan)
        _schedule_audit(actor, loan, rows)
    return rows


# --- portfolio positions ------------------------------------------------------------------


def _portfolio(actor: Any, holding: Holding | int) -> Holding:
    locked = _locked(actor, holding)
    if locked.kind != HoldingKind.PORTFOLIO:
        raise WrongKind()
    _require_open(locked)
    return locked


def _position_audit(actor: Any, holding: Holding, operation: str, before: Any, after: Any) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.POSITION_CHANGED,
        object_type=OBJECT_TYPE,
        object_id=holding.pk,
        before=before,
        after={"operation": operation, **(after or {})},
    )


def position_add(
    *, actor: Any, holding: Holding, data: Mapping[str, Any] | PositionIn
) -> PortfolioPosition:
    """Add one instrument to a portfolio (each instrument once per portfolio)."""
    require_permission(actor, MANAGE_PERMISSION)
    parsed = _parse_position(data)
    with transaction.atomic():
        locked = _portfolio(actor, holding)
        if locked.positions.filter(instrument_code=parsed.instrument_code).exists():
            raise PositionExists(fields={"instrument_code": _("Already in this portfolio.")})
        now = timezone.now()
        position = PortfolioPosition.objects.create(
            holding=locked, created_at=now, updated_at=now, **dict(parsed)
        )
        _position_audit(actor, locked, "added", None, _position_values(position))
    return position


def _parse_position(data: Any) -> PositionIn:
    if isinstance(data, PositionIn):
        return data
    try:
        return PositionIn.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ValidationFailed(
            _("Check the highlighted fields."), fields=pydantic_fields(exc)
        ) from None


def _position_locked(actor: Any, position: PortfolioPosition) -> tuple[Holding, PortfolioPosition]:
    locked = _portfolio(actor, position.holding_id)
    row = PortfolioPosition.objects.select_for_update().filter(pk=position.pk, holding=locked)
    found = row.first()
    if found is None:
        raise NotFound()
    return locked, found


def position_change(
    *, actor: Any, position: PortfolioPosition, data: Mapping[str, Any] | Any
) -> PortfolioPosition:
    """Change a position's name, asset class, quantity, cost or currency (keys given)."""
    require_permission(actor, MANAGE_PERMISSION)
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_unset=True)
    changes = {name: value for name, value in dict(data).items() if value is not None}
    unknown = sorted(set(changes) - set(POSITION_FIELDS[1:]))
    if unknown:
        raise ValidationFailed(fields=dict.fromkeys(unknown, _("This field cannot be changed.")))
    with transaction.atomic():
        holding, row = _position_locked(actor, position)
        values = {name: getattr(row, name) for name in POSITION_FIELDS}
        parsed = _parse_position({**values, **changes})
        before = _position_values(row)
        after = _position_values(parsed)
        if before == after:
            return row
        for name in POSITION_FIELDS[1:]:
            setattr(row, name, getattr(parsed, name))
        row.updated_at = timezone.now()
        row.save(update_fields=[*POSITION_FIELDS[1:], "updated_at"])
        _position_audit(actor, holding, "changed", before, after)
    return row


def position_remove(*, actor: Any, position: PortfolioPosition) -> None:
    """Remove a position from its portfolio (the audit entry keeps what it was)."""
    require_permission(actor, MANAGE_PERMISSION)
    with transaction.atomic():
        holding, row = _position_locked(actor, position)
        before = _position_values(row)
        row.delete()
        _position_audit(
            actor, holding, "removed", before, {"instrument_code": before["instrument_code"]}
        )


# --- prices -------------------------------------------------------------------------------

PRICE_COLUMNS = {
    "instrument_code": ("instrument_code", "instrument", "code", "代码", "证券代码"),
    "price": ("price", "价格", "单价"),
    "currency": ("currency", "币种"),
    "priced_on": ("priced_on", "date", "price_date", "日期", "价格日期"),
    "source": ("source", "来源"),
}
REQUIRED_PRICE_COLUMNS = ("instrument_code", "price", "priced_on")
MAX_PRICE_ROWS = 200_000


@dataclass(frozen=True)
class PriceImportReport:
    rows: int
    created: int
    updated: int
    unchanged: int


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PriceImportFailed(fields={"file": _("The file is not UTF-8 or GB18030 text.")})


def _price_rows(content: bytes, default_source: str) -> list[dict[str, Any]]:
    """Parse and validate every row; all errors at once (`row N, column`: message)."""
    if b"\x00" in content[:4096]:
        raise PriceImportFailed(fields={"file": _("The file is not a CSV file.")})
    reader = csv.reader(io.StringIO(_decode(content)))
    header = next(reader, None)
    if not header:
        raise PriceImportFailed(fields={"file": _("The file is empty.")})
    aliases = {alias.lower(): name for name, names in PRICE_COLUMNS.items() for alias in names}
    positions: dict[str, int] = {}
    unknown = []
    for index, title in enumerate(header):
        name = aliases.get(title.strip().lower())
        if name is None:
            unknown.append(title.strip())
        else:
            positions[name] = index
    errors: dict[str, str] = {}
    missing = [name for name in REQUIRED_PRICE_COLUMNS if name not in positions]
    if missing:
        errors["header"] = _("Missing columns: %(names)s.") % {"names": ", ".join(missing)}
    if unknown:
        errors["header.unknown"] = _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}
    if errors:
        raise PriceImportFailed(fields=errors)
    rows: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    today = timezone.localdate()
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_PRICE_ROWS:
            errors["file"] = _("At most %(count)d rows per file.") % {"count": MAX_PRICE_ROWS}
            break

        def cell(name: str, cells: list[str] = cells) -> str:
            index = positions.get(name)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        where = f"row {line_number}"
        code = cell("instrument_code").upper()
        if not code or len(code) > 40:
            errors[f"{where}.instrument_code"] = _("Give an instrument code.")
        try:
            price = Decimal(cell("price").replace(",", ""))
            if not price.is_finite() or price < 0 or price.as_tuple().exponent < -8:
                raise InvalidOperation
            if abs(price) >= Decimal(10) ** 16:
                raise InvalidOperation
        except InvalidOperation:
            errors[f"{where}.price"] = _("Give a price of 0 or more with at most 8 decimals.")
            price = None
        currency = (cell("currency") or "CNY").upper()
        if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            errors[f"{where}.currency"] = _("Give a three-letter ISO 4217 currency code.")
        try:
            priced_on = datetime.date.fromisoformat(cell("priced_on"))
            if priced_on > today:
                errors[f"{where}.priced_on"] = _("The price date cannot be in the future.")
        except ValueError:
            errors[f"{where}.priced_on"] = _("Give the date as YYYY-MM-DD.")
            priced_on = None
        source = (cell("source") or default_source)[:80]
        key = (code, currency, priced_on, source)
        if key in seen:
            errors[f"{where}.instrument_code"] = _(
                "Same instrument, currency, date and source as row %(row)d."
            ) % {"row": seen[key]}
        seen[key] = line_number
        rows.append(
            {
                "instrument_code": code,
                "price": price,
                "currency": currency,
                "priced_on": priced_on,
                "source": source,
            }
        )
    if errors:
        raise PriceImportFailed(fields=errors)
    if not rows:
        raise PriceImportFailed(fields={"file": _("The file has no price rows.")})
    return rows


def prices_import(
    *, actor: Any, content: bytes, source: str = "import", filename: str = ""
) -> PriceImportReport:
    """Import instrument prices from a CSV file (columns instrument_code, price, currency,
    priced_on, source; headers in English or Chinese; UTF-8, UTF-8 with BOM or GB18030).
    All or nothing: any bad row rejects the file and nothing is written. Importing the same
    file again changes nothing (upsert by instrument, currency, date and source)."""
    require_permission(actor, MANAGE_PERMISSION)
    rows = _price_rows(content, (source or "import").strip() or "import")
    created = updated = unchanged = 0
    now = timezone.now()
    with transaction.atomic():
        codes = {row["instrument_code"] for row in rows}
        existing = {
            (price.instrument_code, price.currency, price.priced_on, price.source): price
            for price in InstrumentPrice.objects.select_for_update()
            .filter(instrument_code__in=codes)
            .order_by("pk")
        }
        new: list[InstrumentPrice] = []
        changed: list[InstrumentPrice] = []
        for row in rows:
            key = (row["instrument_code"], row["currency"], row["priced_on"], row["source"])
            found = existing.get(key)
            if found is None:
                new.append(InstrumentPrice(imported_at=now, imported_by=actor, **row))
            elif found.price != row["price"]:
                found.price = row["price"]
                found.imported_at = now
                found.imported_by = actor
                changed.append(found)
            else:
                unchanged += 1
        InstrumentPrice.objects.bulk_create(new, batch_size=1000)
        InstrumentPrice.objects.bulk_update(
            changed, ["price", "imported_at", "imported_by"], batch_size=1000
        )
        created, updated = len(new), len(changed)
        audit_record(
            actor=actor,
            action=AuditAction.PRICES_IMPORTED,
            object_type=PRICE_OBJECT_TYPE,
            after={
                "file": (filename or "")[:200],
                "sha256": hashlib.sha256(content).hexdigest(),
                "rows": len(rows),
                "created": created,
                "updated": updated,
                "unchanged": unchanged,
                "instruments": len(codes),
            },
        )
    return PriceImportReport(rows=len(rows), created=created, updated=updated, unchanged=unchanged)
