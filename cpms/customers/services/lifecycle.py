"""The customer status lifecycle (active, dormant, closed, … along `choices.CUSTOMER_STATES`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.choices import CUSTOMER_STATES, CustomerStatus
from cpms.customers.errors import StatusTransitionRefused
from cpms.customers.models import MANAGE_PERMISSION, Customer
from cpms.customers.services._common import OBJECT_TYPE, _locked


def customer_status_change(*, actor: Any, customer: Customer, status: str, reason: str) -> Customer:
    """Move a customer along the status lifecycle (choices.CUSTOMER_STATES)."""
    require_permission(actor, MANAGE_PERMISSION)
    reason = (reason or "").strip()
    if status not in CustomerStatus.values:
        raise ValidationFailed(fields={"status": _("Unknown status.")})
    if not reason:
        raise ValidationFailed(fields={"reason": _("Give a reason for the status change.")})
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if not CUSTOMER_STATES.allows(customer.status, status):
            raise StatusTransitionRefused(
                _("A customer cannot go from %(old)s to %(new)s.")
                % {
                    "old": CustomerStatus(customer.status).label,
                    "new": CustomerStatus(status).label,
                },
                fields={"status": _("Not allowed from the current status.")},
            )
        before = customer.status
        now = timezone.now()
        CUSTOMER_STATES.move(customer, status)
        customer.status_changed_at = now
        customer.updated_at = now
        customer.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CUSTOMER_STATUS_CHANGED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return customer
