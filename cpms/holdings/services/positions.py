"""Positions of a portfolio holding, one per instrument. Each change is audited on the holding
(`holdings.position_changed`) with what the position was and what it became."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpms.access.checks import require_permission
from cpms.audit.choices import AuditAction
from cpms.audit.services import audit_record
from cpms.core.errors import NotFound, ValidationFailed
from cpms.holdings.choices import HoldingKind
from cpms.holdings.errors import PositionExists, WrongKind
from cpms.holdings.models import MANAGE_PERMISSION, Holding, PortfolioPosition
from cpms.holdings.schemas import PositionIn, pydantic_fields
from cpms.holdings.services._common import (
    OBJECT_TYPE,
    POSITION_FIELDS,
    _locked,
    _require_open,
)
from cpms.holdings.services._details import _position_values


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
