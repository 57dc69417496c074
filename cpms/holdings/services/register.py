"""Registering property: one holding for a customer in the actor's scope, with its first
valuation and its kind-specific details, in one transaction with its audit entry."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.models import Customer
from cpms.holdings.choices import HoldingKind
from cpms.holdings.errors import HoldingExists
from cpms.holdings.models import MANAGE_PERMISSION, Holding, HoldingValuation
from cpms.holdings.services._common import OBJECT_TYPE, _check_value, _compact, _owner
from cpms.holdings.services._details import (
    _AccountNumber,
    _details_write,
    _prepare_details,
    account_identifier,
)


@dataclass(frozen=True)
class _Checked:
    """What registration validated before opening its transaction."""

    identifier: str
    currency: str
    parsed: Any
    number: _AccountNumber | None


def _register_check(
    *,
    actor: Any,
    kind: str,
    identifier: str,
    value_minor: int | None,
    currency: str,
    valued_on: datetime.date | None,
    details: Any,
) -> _Checked:
    """Validate the kind, details, identifier and value, reporting every error at once. An
    account's identifier given empty (or as the number itself) is derived from the number."""
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
    return _Checked(identifier, currency, parsed, number)


def _holding_create(
    *, owner: Customer, kind: str, identifier: str, now: Any, **values: Any
) -> Holding:
    """The holding row with its number (P + primary key); a duplicate identifier for the same
    customer and kind is refused, also when a concurrent registration wins the race."""
    if Holding.objects.filter(customer=owner, kind=kind, identifier=identifier).exists():
        raise HoldingExists(fields={"identifier": _("Already registered for this customer.")})
    try:
        with transaction.atomic():
            holding = Holding.objects.create(
                holding_number=f"new-{uuid.uuid4().hex}",
                customer=owner,
                kind=kind,
                identifier=identifier,
                status_changed_at=now,
                created_at=now,
                updated_at=now,
                **values,
            )
    except IntegrityError:
        raise HoldingExists(
            fields={"identifier": _("Already registered for this customer.")}
        ) from None
    holding.holding_number = f"P{holding.pk:08d}"
    holding.save(update_fields=["holding_number"])
    return holding


def _valuation_first(*, actor: Any, holding: Holding, now: Any) -> None:
    """The value declared at registration starts the valuation history."""
    HoldingValuation.objects.create(
        holding=holding,
        value_minor=holding.value_minor,
        currency=holding.currency,
        valued_on=holding.valued_on,
        source="registration",
        recorded_by=actor,
        recorded_at=now,
    )


def _register_details(
    *, actor: Any, holding: Holding, checked: _Checked, after: dict[str, Any]
) -> tuple[str, ...]:
    """Write the details given with the registration into `after` (the audit snapshot; an
    account number only as its digest). Returns the audit's PII fields."""
    if checked.parsed is None:
        return ()
    snapshot, digest, _scheduled = _details_write(
        actor=actor, holding=holding, parsed=checked.parsed, number=checked.number
    )
    after["details"] = snapshot
    if digest is None:
        return ()
    after["account_number"] = digest
    return ("account_number",)


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
    checked = _register_check(
        actor=actor,
        kind=kind,
        identifier=identifier,
        value_minor=value_minor,
        currency=currency,
        valued_on=valued_on,
        details=details,
    )
    identifier, currency = checked.identifier, checked.currency
    now = timezone.now()
    with transaction.atomic():
        owner = _owner(actor, customer, permission)
        holding = _holding_create(
            owner=owner,
            kind=kind,
            identifier=identifier,
            now=now,
            description=(description or "").strip()[:300],
            value_minor=value_minor,
            currency=currency,
            valued_on=valued_on,
            location=(location or "").strip()[:120],
            custodian=custodian,
        )
        if value_minor is not None:
            _valuation_first(actor=actor, holding=holding, now=now)
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
        pii_fields = _register_details(actor=actor, holding=holding, checked=checked, after=after)
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_REGISTERED,
            object_type=OBJECT_TYPE,
            object_id=holding.pk,
            after=after,
            pii_fields=pii_fields,
        )
    return holding
