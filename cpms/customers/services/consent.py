"""Consents: granted per purpose and channel, withdrawn with when and how; a withdrawn consent
stays as history and a new grant adds a row."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.customers.choices import ConsentChannel, ConsentPurpose
from cpms.customers.errors import ConsentAlreadyGranted, ConsentAlreadyWithdrawn
from cpms.customers.models import MANAGE_PERMISSION, Consent, Customer
from cpms.customers.services._common import OBJECT_TYPE, _locked


def consent_grant(
    *,
    actor: Any,
    customer: Customer,
    purpose: str,
    channel: str,
    granted_at: datetime.datetime | None = None,
) -> Consent:
    """Record a consent. One active consent per purpose; granting again after a withdrawal adds
    a new row, so the history stays."""
    require_permission(actor, MANAGE_PERMISSION)
    errors = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = _("Unknown purpose.")
    if channel not in ConsentChannel.values:
        errors["channel"] = _("Unknown channel.")
    granted_at = granted_at or timezone.now()
    if granted_at > timezone.now():
        errors["granted_at"] = _("The consent date is in the future.")
    if errors:
        raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
    with transaction.atomic():
        customer = _locked(actor, customer.pk)
        if customer.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists():
            raise ConsentAlreadyGranted(fields={"purpose": _("Already granted.")})
        consent = Consent.objects.create(
            customer=customer,
            purpose=purpose,
            channel=channel,
            granted_at=granted_at,
            granted_by=actor,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_GRANTED,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            after={
                "consent_id": consent.pk,
                "purpose": purpose,
                "channel": channel,
                "granted_at": granted_at.isoformat(),
            },
        )
    return consent


def consent_withdraw(*, actor: Any, consent: Consent, channel: str, reason: str = "") -> Consent:
    """Withdraw a consent: the row keeps when it was granted and gains when it was withdrawn."""
    require_permission(actor, MANAGE_PERMISSION)
    if channel not in ConsentChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    with transaction.atomic():
        customer = _locked(actor, consent.customer_id)
        consent = Consent.objects.select_for_update().get(pk=consent.pk, customer=customer)
        if consent.withdrawn_at is not None:
            raise ConsentAlreadyWithdrawn()
        consent.withdrawn_at = timezone.now()
        consent.withdrawn_by = actor
        consent.withdrawal_channel = channel
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_channel"])
        audit_record(
            actor=actor,
            action=AuditAction.CONSENT_WITHDRAWN,
            object_type=OBJECT_TYPE,
            object_id=customer.pk,
            before={"consent_id": consent.pk, "purpose": consent.purpose, "withdrawn_at": None},
            after={
                "consent_id": consent.pk,
                "purpose": consent.purpose,
                "withdrawn_at": consent.withdrawn_at.isoformat(),
                "channel": channel,
            },
            reason=(reason or "").strip(),
        )
    return consent
