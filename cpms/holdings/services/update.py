"""Changing registered property: its description, location, custodian and details, and its
status along choices.HOLDING_STATES. Items in custody change only their description here;
the rest of their lifecycle belongs to cpms/custody/ (through services/custody_state.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import ValidationFailed
from cpms.holdings.choices import HOLDING_STATES, HoldingKind
from cpms.holdings.errors import CustodyOwned, HoldingStatusRefused
from cpms.holdings.models import MANAGE_PERMISSION, AccountDetail, Holding
from cpms.holdings.services._common import (
    OBJECT_TYPE,
    _custodian_id,
    _locked,
    _plain,
    _require_open,
)
from cpms.holdings.services._details import (
    _AccountNumber,
    _details_write,
    _prepare_details,
    details_snapshot,
)
from cpms.privacy.protected import pii_read
from cpms.privacy.services import value_digest

UPDATABLE = {"description", "location", "custodian_id", "details"}


def _update_plain_fields(
    locked: Holding,
    data: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Apply the description, location and custodian given, noting what changed."""
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


def _update_details_check(
    locked: Holding,
    given: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
    errors: dict[str, str],
) -> tuple[Any, _AccountNumber | None]:
    """Merge the details given into the stored ones and validate them whole; note the plain
    before/after when they differ (the account number is compared later, by digest)."""
    if locked.kind == HoldingKind.PORTFOLIO and "positions" in given:
        errors["details.positions"] = _("Change positions through the position operations.")
        return None, None
    current = details_snapshot(locked) or {}
    merged = {**current, **given}
    try:
        parsed, number = _prepare_details(
            locked.kind, merged, creating=not current and locked.kind == "account"
        )
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None, None
    old = {name: _plain(value) for name, value in current.items()}
    new = {
        name: _plain(value)
        for name, value in parsed.model_dump().items()
        if name not in ("number", "positions")
    }
    if old != new:
        before["details"], after["details"] = old, new
    return parsed, number


def _update_details_write(
    *,
    actor: Any,
    locked: Holding,
    parsed: Any,
    number: _AccountNumber | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> tuple[str, ...]:
    """Write the details when they (or the account number) changed. An account number given
    again unchanged is not re-encrypted. Returns the audit's PII fields."""
    pii_fields: tuple[str, ...] = ()
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
    return pii_fields


def holding_update(*, actor: Any, holding: Holding, data: Mapping[str, Any] | Any) -> Holding:
    """Change the description, location, custodian and details given in `data` (keys that are
    absent stay as they are). Details are merged into the stored ones and validated whole; an
    account number given again is re-encrypted; a loan whose terms change gets a new schedule.
    Positions of a portfolio change through position_add/position_change/position_remove."""
    require_permission(actor, MANAGE_PERMISSION)
    if hasattr(data, "model_dump"):
        data = data.model_dump(exclude_unset=True)
    data = dict(data)
    unknown = sorted(set(data) - UPDATABLE)
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
        _update_plain_fields(locked, data, before, after, errors)
        parsed = number = None
        if data.get("details") is not None:
            parsed, number = _update_details_check(
                locked, dict(data["details"]), before, after, errors
            )
        if errors:
            raise ValidationFailed(_("Check the highlighted fields."), fields=errors)
        pii_fields: tuple[str, ...] = ()
        if parsed is not None:
            pii_fields = _update_details_write(
                actor=actor, locked=locked, parsed=parsed, number=number, before=before, after=after
            )
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
    """Move a holding along choices.HOLDING_STATES. Items in custody are refused: their
    lifecycle belongs to cpms/custody/."""
    require_permission(actor, MANAGE_PERMISSION)
    with transaction.atomic():
        locked = _locked(actor, holding)
        if locked.kind == HoldingKind.CUSTODY_ITEM:
            raise CustodyOwned()
        if not HOLDING_STATES.allows(locked.status, status):
            raise HoldingStatusRefused(
                fields={
                    "status": _("From %(current)s the status can move to: %(allowed)s.")
                    % {
                        "current": locked.status,
                        "allowed": ", ".join(HOLDING_STATES.targets(locked.status)) or "—",
                    }
                }
            )
        before = locked.status
        HOLDING_STATES.move(locked, status)
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
