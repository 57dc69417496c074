"""A loan's repayment schedule on request. It is also regenerated automatically whenever the
loan's terms change (services/_details.py); this is the explicit refresh."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cpms.access.checks import require_permission
from cpms.holdings.choices import HoldingKind
from cpms.holdings.errors import WrongKind
from cpms.holdings.models import MANAGE_PERMISSION, Holding, LoanDetail, LoanInstalment
from cpms.holdings.services._common import _locked, _require_open
from cpms.holdings.services._details import _schedule_audit, _schedule_write


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
