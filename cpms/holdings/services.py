"""Every write of the property register. Each function checks the actor's permission and the
owner customer's scope, validates, writes and records its audit entry in one transaction."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.models import Customer
from cpms.holdings.choices import HoldingKind
from cpms.holdings.errors import HoldingExists
from cpms.holdings.models import MANAGE_PERMISSION, Holding, HoldingValuation

OBJECT_TYPE = "holdings.holding"


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


def holding_register(
    *,
    actor: Any,
    customer: Customer | int,
    kind: str,
    identifier: str,
    description: str = "",
    value_minor: int | None = None,
    currency: str = "CNY",
    valued_on: datetime.date | None = None,
    location: str = "",
    custodian: Any = None,
    permission: str = MANAGE_PERMISSION,
) -> Holding:
    """Register one property item for a customer in the actor's scope. Kind-specific details are
    added by the caller in the same transaction (wrap both in `transaction.atomic()`).
    `permission` lets the custody app register items with `custody.operate`."""
    require_permission(actor, permission)
    errors: dict[str, str] = {}
    if kind not in HoldingKind.values:
        errors["kind"] = _("Unknown kind of property.")
    identifier = (identifier or "").strip()
    if not identifier:
        errors["identifier"] = _("Give an identifier (account number, contract number, serial…).")
    elif len(identifier) > 120:
        errors["identifier"] = _("At most 120 characters.")
    currency = (currency or "").strip().upper()
    errors.update(_check_value(value_minor, currency, valued_on))
    if errors:
        raise ValidationFailed(fields=errors)
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
        audit_record(
            actor=actor,
            action=AuditAction.HOLDING_REGISTERED,
            object_type=OBJECT_TYPE,
            object_id=holding.pk,
            after={
                "holding_number": holding.holding_number,
                "customer_id": owner.pk,
                "kind": kind,
                "identifier": identifier,
                "description": holding.description,
                "value_minor": value_minor,
                "currency": currency,
                "valued_on": valued_on.isoformat() if valued_on else None,
            },
        )
    return holding


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
