"""Valuations: every new value is kept as history; the holding shows the latest by date."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.access.scopes import get_for_user
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.models import MANAGE_PERMISSION, Holding, HoldingValuation
from cpms.holdings.services._common import OBJECT_TYPE, _check_value


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
