"""Helpers shared by the register's services: the owner and row lookups (through scope, so an
out-of-scope row answers 404 like a missing one), value checks and the plain audit form of
values. Private to the package; callers outside it use the services."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.scopes import get_for_user
from cpms.core.errors import ValidationFailed
from cpms.customers.models import Customer
from cpms.holdings.choices import HoldingStatus
from cpms.holdings.errors import HoldingClosed
from cpms.holdings.models import MANAGE_PERMISSION, Holding

OBJECT_TYPE = "holdings.holding"
PRICE_OBJECT_TYPE = "holdings.instrumentprice"
CLOSED_STATUSES = (HoldingStatus.CLOSED, HoldingStatus.RETURNED, HoldingStatus.DISPOSED)
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
