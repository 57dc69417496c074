"""Every write of notifications: send (in-app row + optional email after commit) and mark read.
Reading a customer's encrypted email address to send to it is a sensitive read: it is audited
(`pii.revealed`, the address only as a keyed hash) in the same transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.notifications.errors import NoRecipient
from cpms.notifications.models import EmailStatus, Notification
from cpms.notifications.selectors import notification_get_own
from cpms.privacy.protected import ERASED, pii_read
from cpms.privacy.services import value_digest

logger = logging.getLogger(__name__)
OBJECT_TYPE = "notifications.notification"
EMAIL_REASON = "notification email"


def _deliver(recipient: str, subject: str, body: str) -> None:
    """Runs after commit: a mail failure is logged, never undoes the notification."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient], fail_silently=False)
    except Exception:  # the in-app notification stands; the log tells operations
        logger.exception("notification email could not be sent")


def _customer_email(*, actor: Any, customer: Any, notification_pk: int) -> str:
    """The customer's clear email address; the read is audited (`pii.revealed`)."""

    value = pii_read(customer, "email") or ""
    erased = value == ERASED
    audit_record(
        actor=actor,
        action=AuditAction.PII_REVEALED,
        object_type=customer._meta.label_lower,
        object_id=customer.pk,
        after={
            "field": "email",
            "value_digest": value_digest(value, actor=actor) if value and not erased else None,
            "erased": erased,
            "purpose": "notification",
            "notification_id": notification_pk,
        },
        reason=EMAIL_REASON,
    )
    return "" if erased else value


def notification_send(
    *,
    actor: Any,
    subject: str,
    body: str,
    customer: Any = None,
    user: Any = None,
    related_type: str = "",
    related_id: Any = "",
    email: bool = False,
    permission: str | None = "customers.manage",
    now: Any = None,
) -> Notification:
    """Store an in-app notification for `customer` and/or `user`; with `email`, also mail the
    customer's (decrypted, audited) address, or the user's, after the transaction commits.
    `actor=None` is the system (jobs); a person needs `permission`."""
    if actor is not None and permission:
        require_permission(actor, permission)
    if customer is None and user is None:
        raise NoRecipient()
    subject = (subject or "").strip()
    body = (body or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = _("Give a subject.")
    elif len(subject) > 200:
        errors["subject"] = _("At most 200 characters.")
    if len(body) > 4000:
        errors["body"] = _("At most 4000 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    now = now or timezone.now()
    with transaction.atomic():
        notification = Notification.objects.create(
            customer=customer,
            user=user,
            subject=subject,
            body=body,
            related_type=str(related_type)[:64],
            related_id=str(related_id)[:64] if related_id not in (None, "") else "",
            created_at=now,
        )
        address = ""
        if email:
            if customer is not None:
                address = _customer_email(
                    actor=actor, customer=customer, notification_pk=notification.pk
                )
            elif user is not None:
                address = user.email or ""
            notification.email_status = EmailStatus.QUEUED if address else EmailStatus.NO_ADDRESS
            notification.save(update_fields=["email_status"])
        audit_record(
            actor=actor,
            action=AuditAction.NOTIFICATION_SENT,
            object_type=OBJECT_TYPE,
            object_id=notification.pk,
            after={
                "customer_id": getattr(customer, "pk", None),
                "user_id": getattr(user, "pk", None),
                "subject": subject,
                "related_type": notification.related_type,
                "related_id": notification.related_id,
                "email": notification.email_status,
            },
        )
        if address:
            transaction.on_commit(lambda: _deliver(address, subject, body))
    return notification


def notification_mark_read(*, actor: Any, notification_id: Any, now: Any = None) -> Notification:
    """Mark one of the actor's own notifications read (idempotent: a read one stays as it is)."""
    with transaction.atomic():
        row = notification_get_own(user=actor, pk=notification_id)
        row = Notification.objects.select_for_update().get(pk=row.pk)
        if row.read_at is None:
            row.read_at = now or timezone.now()
            row.save(update_fields=["read_at"])
            audit_record(
                actor=actor,
                action=AuditAction.NOTIFICATION_READ,
                object_type=OBJECT_TYPE,
                object_id=row.pk,
                after={"read_at": row.read_at.isoformat()},
            )
    return row


def staff_notices_send(
    *,
    notices: list[tuple[Any, str, str, bool]],
    related_type: str,
    related_id: Any,
    now: Any = None,
) -> list[Notification]:
    """In-app notices to members of staff about something that was itself just audited (an
    approval request submitted or decided): `notices` are (user, subject, body, email) rows.
    Written in the caller's transaction with one insert; the e-mails go after commit over one
    mail connection. The event's own audit entry records what happened, so the notices add no
    entry of their own (reading one is audited as usual)."""
    now = now or timezone.now()
    rows = []
    mails = []
    for user, subject, body, email in notices:
        address = (user.email or "").strip() if email else ""
        rows.append(
            Notification(
                user=user,
                subject=(subject or "").strip()[:200],
                body=(body or "").strip()[:4000],
                related_type=str(related_type)[:64],
                related_id=str(related_id)[:64],
                email_status=(
                    EmailStatus.QUEUED
                    if address
                    else (EmailStatus.NO_ADDRESS if email else EmailStatus.NONE)
                ),
                created_at=now,
            )
        )
        if address:
            mails.append((subject[:200], body[:4000], settings.DEFAULT_FROM_EMAIL, [address]))
    with transaction.atomic():
        created = Notification.objects.bulk_create(rows)
        if mails:
            transaction.on_commit(lambda: _deliver_many(mails))
    return created


def _deliver_many(mails: list[tuple[str, str, str, list[str]]]) -> None:
    """After commit, over one connection; a failure is logged and the notices stand."""
    from django.core.mail import send_mass_mail

    try:
        send_mass_mail(tuple(mails), fail_silently=False)
    except Exception:
        logger.exception("%d notice e-mails could not be sent", len(mails))
