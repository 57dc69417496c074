"""API for the privacy app, mounted at /api/v1/privacy/ by cpms.config.api."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from cpms.privacy import services
from cpms.privacy.protected import ERASED
from cpms.privacy.schemas import RevealIn, RevealOut

router = Router(tags=["privacy"])


@router.post(
    "/reveal",
    response=RevealOut,
    summary="Reveal one masked personal-data field",
    description=(
        "Needs the permission `pii.reveal`, a token with the scope `privacy:write`, and a reason "
        "of at least 5 characters. Every reveal and every refusal is audited; reveals are "
        "limited per user (default 20 per hour: `privacy.rate_limited`, status 429)."
    ),
)
def reveal(request: HttpRequest, payload: RevealIn) -> Any:
    value = services.pii_reveal(
        actor=request.auth, target=payload.target, field=payload.field, reason=payload.reason
    )
    return {
        "target": payload.target,
        "field": payload.field,
        "value": value,
        "erased": value == ERASED,
    }
